// The patient's record: identity, identifiers, stays and visits, and every change made to
// it (who, when, what); break-glass with a reason where the record is outside the caller's
// scope; merge and unmerge for the medical records officer.
import { useEffect, useState } from "preact/hooks";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { client, holds, requestId, withBreakGlass, type Session } from "../api";
import {
  ChangeKind,
  IdentifierType,
  PatientService,
  type Patient,
  type PatientVersion,
  type Visit,
} from "../gen/openhmis/patients/v1/patients_pb";
import { AdmissionService } from "../gen/openhmis/admissions/v1/admissions_pb";
import { formatDate, formatTime, t } from "../i18n";
import { ErrorMessage, Field, Section, Table, sexName } from "../ui";
import { PatientDocuments, PatientPhoto } from "./Documents";
import { Insurance } from "./Insurance";

interface Loaded {
  patient: Patient;
  versions: PatientVersion[];
  visits: Visit[];
}

async function load(id: string): Promise<Loaded> {
  const patients = client(PatientService);
  const { patient } = await patients.getPatient({ id });
  if (!patient) throw new Error("the server answered without the patient");
  const [versions, visits] = await Promise.all([
    patients.listPatientVersions({ patientId: id, pageSize: 50 }),
    patients.listPatientVisits({ patientId: id, pageSize: 50 }),
  ]);
  return { patient, versions: versions.versions, visits: visits.visits };
}

const identifierNames: Record<number, string> = {
  [IdentifierType.NATIONAL_ID]: "IDNP",
  [IdentifierType.PASSPORT]: "passport",
  [IdentifierType.DRIVING_LICENCE]: "driving licence",
  [IdentifierType.INSURANCE_NUMBER]: "insurance",
};

function Merge(props: { patient: Patient; onDone: () => void }) {
  const [mrn, setMrn] = useState("");
  const [reason, setReason] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      const patients = client(PatientService);
      const found = await patients.searchPatients({ mrn: mrn.trim(), pageSize: 1 });
      const duplicate = found.matches[0]?.patient;
      if (!duplicate) throw new Error(t("noMatches"));
      await patients.mergePatients({
        requestId: requestId(),
        survivorId: props.patient.id,
        survivorEtag: props.patient.etag,
        mergedId: duplicate.id,
        mergedEtag: duplicate.etag,
        reason: reason.trim(),
      });
      setDone(true);
      props.onDone();
    } catch (failure) {
      setError(failure);
    }
  }

  return (
    <form onSubmit={submit} aria-labelledby="merge-title">
      <h3 id="merge-title">{t("mergeTitle")}</h3>
      <div class="grid">
        <Field label={t("mergedMrn")} name="merged_mrn" value={mrn} onInput={setMrn} required />
        <Field label={t("reason")} name="merge_reason" value={reason} onInput={setReason} required />
      </div>
      <ErrorMessage error={error} />
      {done && <p role="status">{t("merged")}</p>}
      <button type="submit" class="secondary">
        {t("merge")}
      </button>
    </form>
  );
}

/** The info desk's answer: where the patient is now (ward and room), for those who may ask. */
function WhereIs(props: { patientId: string }) {
  const [where, setWhere] = useState<string | null>(null);
  useEffect(() => {
    client(AdmissionService)
      .locatePatient({ patientId: props.patientId })
      .then((answer) =>
        setWhere(
          answer.inHospital
            ? `${t("inHospital")}: ${answer.departmentName}${answer.roomCode ? `, ${t("room")} ${answer.roomCode}` : ""}`
            : t("notInHospital"),
        ),
      )
      .catch(() => setWhere(null));
  }, [props.patientId]);
  if (where === null) return null;
  return (
    <p>
      {t("whereIs")}: <strong data-testid="where">{where}</strong>
    </p>
  );
}

export function PatientRecord(props: { id: string; session: Session }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [outsideScope, setOutsideScope] = useState(false);
  const [reason, setReason] = useState("");
  const [unmergeReason, setUnmergeReason] = useState("");
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let live = true;
    setLoaded(null);
    setError(null);
    load(props.id)
      .then((value) => live && setLoaded(value))
      .catch((failure) => {
        if (!live) return;
        if (
          failure instanceof ConnectError &&
          failure.code === Code.PermissionDenied &&
          holds(props.session, "patients.break_glass")
        ) {
          setOutsideScope(true);
        }
        setError(failure);
      });
    return () => {
      live = false;
    };
  }, [props.id, generation]);

  async function breakGlass(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      setLoaded(await withBreakGlass(reason.trim(), () => load(props.id)));
      setOutsideScope(false);
    } catch (failure) {
      setError(failure);
    }
  }

  async function unmerge(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await client(PatientService).unmergePatient({
        requestId: requestId(),
        mergedId: props.id,
        reason: unmergeReason.trim(),
      });
      setGeneration(generation + 1);
    } catch (failure) {
      setError(failure);
    }
  }

  if (outsideScope && !loaded) {
    return (
      <form onSubmit={breakGlass} aria-labelledby="break-glass-title">
        <h1 id="break-glass-title">{t("breakGlassTitle")}</h1>
        <p>{t("breakGlassHelp")}</p>
        <Field label={t("reason")} name="break_glass_reason" value={reason} onInput={setReason} required />
        <ErrorMessage error={error} />
        <button type="submit">{t("openAnyway")}</button>
      </form>
    );
  }
  if (!loaded) {
    return (
      <>
        <ErrorMessage error={error} />
        {!error && <p aria-busy="true">{t("loading")}</p>}
      </>
    );
  }
  const { patient, versions, visits } = loaded;
  return (
    <>
      <p>
        <a href="#/patients">{t("back")}</a>
      </p>
      <h1>
        {patient.familyName} {patient.givenNames} {patient.patronymic}
      </h1>
      {patient.photoRef && holds(props.session, "documents.read") && (
        <PatientPhoto documentId={patient.photoRef} name={`${patient.familyName} ${patient.givenNames}`} />
      )}
      <ErrorMessage error={error} />
      <p>
        {t("mrn")} <strong data-testid="mrn">{patient.mrn}</strong> · {sexName(patient.sex)} ·{" "}
        {t("birthDate")} {formatDate(patient.birthDate)} · {t("age")} {patient.ageYears} {t("years")}
        {patient.deceased && <mark> {t("deceased")}</mark>}
        {patient.confidential && <mark> {t("confidential")}</mark>}
        {patient.unpaidDebt && <mark> {t("unpaidDebt")}</mark>}
      </p>
      {holds(props.session, "admissions.infodesk") && <WhereIs patientId={patient.id} />}
      {holds(props.session, "encounters.read") && !patient.mergedIntoId && (
        <p>
          <a href={`#/encounters/${patient.id}`} role="button" class="outline">
            {t("encounters")}
          </a>
        </p>
      )}
      {holds(props.session, "admissions.admit") && !patient.deceased && !patient.mergedIntoId && (
        <p>
          <a href={`#/admissions?mrn=${patient.mrn}`} role="button" class="outline">
            {t("admitHere")}
          </a>
        </p>
      )}
      {patient.mergedIntoId && (
        <form onSubmit={unmerge}>
          <p>
            {t("mergedInto")} <a href={`#/patients/${patient.mergedIntoId}`}>{patient.mergedIntoId}</a>
          </p>
          {holds(props.session, "patients.merge") && (
            <>
              <Field label={t("reason")} name="unmerge_reason" value={unmergeReason} onInput={setUnmergeReason} required />
              <button type="submit" class="secondary">
                {t("unmerge")}
              </button>
            </>
          )}
        </form>
      )}
      {holds(props.session, "billing.cover") && !patient.mergedIntoId && <Insurance patientId={patient.id} />}
      {holds(props.session, "documents.read") && !patient.mergedIntoId && (
        <PatientDocuments patientId={patient.id} session={props.session} />
      )}
      <Section title={t("identifiers")} id="identifiers">
        <ul>
          {patient.identifiers.map((identifier) => (
            <li key={`${identifier.type}-${identifier.country}-${identifier.value}`}>
              {identifierNames[identifier.type] ?? "?"} {identifier.country} {identifier.value}
            </li>
          ))}
        </ul>
      </Section>
      <Section title={t("visits")} id="visits">
        {visits.length === 0 ? (
          <p>{t("noVisits")}</p>
        ) : (
          <Table columns={["admissionNumber", "admissions", "when"]}>
              {visits.map((visit) => (
                <tr key={visit.admissionId}>
                  <td>{visit.admissionNumber}</td>
                  <td>{visit.admissionType}</td>
                  <td>
                    {visit.startTime && formatTime(timestampMs(visit.startTime))}
                    {visit.endTime && ` – ${formatTime(timestampMs(visit.endTime))}`}
                  </td>
                </tr>
              ))}
          </Table>
        )}
      </Section>
      <Section title={t("history")} id="history">
        <Table columns={["version", "changedFields", "changedBy", "when"]}>
            {versions.map((version) => (
              <tr key={String(version.version)}>
                <td>
                  {String(version.version)} · {ChangeKind[version.kind].toLowerCase()}
                </td>
                <td>{version.changedFields.join(", ")}</td>
                <td>{version.changedBy}</td>
                <td>{version.changeTime && formatTime(timestampMs(version.changeTime))}</td>
              </tr>
            ))}
        </Table>
      </Section>
      {holds(props.session, "patients.merge") && !patient.mergedIntoId && (
        <Merge patient={patient} onDone={() => setGeneration(generation + 1)} />
      )}
    </>
  );
}
