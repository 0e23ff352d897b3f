// The physician's encounter: diagnoses (ICD-10 searched in the terminology), prescriptions
// with the safety check's warnings and, when it blocks, the override with a reason; the
// procedures and notes recorded; the nurses' queries and their nursing record; the medical
// extract, printable.
import { useEffect, useState } from "preact/hooks";
import { Code, ConnectError } from "@connectrpc/connect";
import { client, holds, requestId, type Session } from "../api";
import {
  DiagnosisCertainty,
  DiagnosisRole,
  EncounterService,
  EncounterStatus,
  FormularyService,
  NoteKind,
  PrescriptionStatus,
  ReferralKind,
  VerificationStatus,
  Route,
  Urgency,
  WarningSeverity,
  type MedicalExtract,
  type Medicine,
  type PrescribingWarning,
} from "../gen/openhmis/encounters/v1/encounters_pb";
import { PatientService, type Patient } from "../gen/openhmis/patients/v1/patients_pb";
import { t, type Key } from "../i18n";
import { Choice, ErrorMessage, Field, Section, useAttempt } from "../ui";
import { Certificates } from "./Certificates";
import { ConceptSearch } from "./ConceptSearch";
import { PrintButton } from "./Documents";
import { NurseQueries, NursingRecord } from "./Nursing";
import { Printout } from "../gen/openhmis/documents/v1/documents_pb";

const roles: [DiagnosisRole, Key][] = [
  [DiagnosisRole.PRINCIPAL, "principal"],
  [DiagnosisRole.SECONDARY, "secondary"],
  [DiagnosisRole.COMPLICATION, "complication"],
  [DiagnosisRole.ADMITTING, "admitting"],
];
const roleKey = Object.fromEntries(roles) as Record<number, Key>;
const certainties: [DiagnosisCertainty, Key][] = [
  [DiagnosisCertainty.CONFIRMED, "confirmed"],
  [DiagnosisCertainty.PROVISIONAL, "provisional"],
];

const noteKinds: [NoteKind, Key][] = [
  [NoteKind.PROGRESS, "progressNote"],
  [NoteKind.EXAMINATION, "examinationNote"],
  [NoteKind.CONSULTATION, "consultationNote"],
  [NoteKind.DISCHARGE_SUMMARY, "dischargeSummaryNote"],
  [NoteKind.RECOMMENDATION, "recommendationNote"],
];

/** A clinical note: an examination, the day's progress, a consultation, the discharge summary
 * (which the discharge desk waits for) or a recommendation; the extract shows them. */
function WriteNote(props: { encounterId: string; onDone: () => void }) {
  const [kind, setKind] = useState(NoteKind.PROGRESS);
  const [text, setText] = useState("");
  const [error, attempt] = useAttempt();

  async function submit(event: Event) {
    event.preventDefault();
    const done = await attempt(() =>
      client(EncounterService).addNote({ requestId: requestId(), note: { encounterId: props.encounterId, kind, text } }),
    );
    if (done) {
      setText("");
      props.onDone();
    }
  }

  return (
    <form onSubmit={submit} aria-labelledby="note-title">
      <h3 id="note-title">{t("writeNote")}</h3>
      <Choice label={t("noteKind")} name="note_kind" value={kind} options={noteKinds} onChange={setKind} />
      <label>
        {t("noteText")}
        <textarea name="note_text" value={text} onInput={(event) => setText((event.target as HTMLTextAreaElement).value)} />
      </label>
      <ErrorMessage error={error} />
      <button type="submit" disabled={!text.trim()}>
        {t("addTheNote")}
      </button>
    </form>
  );
}

function Diagnose(props: { encounterId: string; onDone: () => void }) {
  const [code, setCode] = useState("");
  const [role, setRole] = useState(DiagnosisRole.PRINCIPAL);
  const [certainty, setCertainty] = useState(DiagnosisCertainty.CONFIRMED);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await client(EncounterService).recordDiagnosis({
        requestId: requestId(),
        diagnosis: { encounterId: props.encounterId, code, role, certainty },
      });
      setCode("");
      props.onDone();
    } catch (failure) {
      setError(failure);
    }
  }

  return (
    <form onSubmit={submit} aria-labelledby="diagnose-title">
      <h3 id="diagnose-title">{t("recordDiagnosis")}</h3>
      <ConceptSearch system="icd10" label={t("icdSearch")} name="code" chosen={code ? [code] : []} onChosen={(codes) => setCode(codes[0] ?? "")} />
      <div class="grid">
        <Choice label={t("role")} name="role" value={role} options={roles} onChange={setRole} />
        <Choice label={t("certainty")} name="certainty" value={certainty} options={certainties} onChange={setCertainty} />
      </div>
      <ErrorMessage error={error} />
      <button type="submit" disabled={!code}>
        {t("recordAction")}
      </button>
    </form>
  );
}

function RecordProcedure(props: { encounterId: string; onDone: () => void }) {
  const [code, setCode] = useState("");
  const [error, setError] = useState<unknown>(null);
  return (
    <form
      aria-labelledby="procedure-title"
      onSubmit={(event) => {
        event.preventDefault();
        setError(null);
        client(EncounterService)
          .recordProcedure({ requestId: requestId(), procedure: { encounterId: props.encounterId, code } })
          .then(() => {
            setCode("");
            props.onDone();
          })
          .catch(setError);
      }}
    >
      <h3 id="procedure-title">{t("procedure")}</h3>
      <ConceptSearch system="achi" label={t("achiSearch")} name="procedure_code" chosen={code ? [code] : []} onChosen={(codes) => setCode(codes[0] ?? "")} />
      <ErrorMessage error={error} />
      <button type="submit" disabled={!code}>
        {t("recordAction")}
      </button>
    </form>
  );
}

const referralKinds: [ReferralKind, Key][] = [
  [ReferralKind.LABORATORY, "laboratory"],
  [ReferralKind.IMAGING, "imaging"],
  [ReferralKind.CONSULTATION, "consultation"],
];
const urgencies: [Urgency, Key][] = [
  [Urgency.ROUTINE, "routine"],
  [Urgency.URGENT, "urgent"],
  [Urgency.EMERGENCY, "emergency"],
];

function Refer(props: { encounterId: string; onDone: () => void }) {
  const [kind, setKind] = useState(ReferralKind.LABORATORY);
  const [codes, setCodes] = useState<string[]>([]);
  const [specialty, setSpecialty] = useState("");
  const [reason, setReason] = useState("");
  const [urgency, setUrgency] = useState(Urgency.ROUTINE);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  return (
    <form
      aria-labelledby="referral-title"
      onSubmit={(event) => {
        event.preventDefault();
        setError(null);
        setDone(false);
        client(EncounterService)
          .createReferral({
            requestId: requestId(),
            referral: {
              encounterId: props.encounterId,
              kind,
              investigationCodes: kind === ReferralKind.CONSULTATION ? [] : codes,
              specialty: kind === ReferralKind.CONSULTATION ? specialty.trim() : "",
              reason: reason.trim(),
              urgency,
            },
          })
          .then(() => {
            setDone(true);
            setCodes([]);
            setReason("");
            props.onDone();
          })
          .catch(setError);
      }}
    >
      <h3 id="referral-title">{t("referral")}</h3>
      <div class="grid">
        <Choice label={t("referralKind")} name="referral_kind" value={kind} options={referralKinds} onChange={(value) => { setKind(value); setCodes([]); }} />
        <Choice label={t("urgency")} name="urgency" value={urgency} options={urgencies} onChange={setUrgency} />
      </div>
      {kind === ReferralKind.CONSULTATION ? (
        <Field label={t("specialty")} name="specialty" value={specialty} onInput={setSpecialty} required />
      ) : (
        <ConceptSearch
          system={kind === ReferralKind.LABORATORY ? "loinc" : "achi"}
          label={t("investigations")}
          name="investigation_codes"
          chosen={codes}
          onChosen={setCodes}
          several
        />
      )}
      <Field label={t("referralReason")} name="referral_reason" value={reason} onInput={setReason} required />
      <ErrorMessage error={error} />
      <button type="submit" disabled={kind !== ReferralKind.CONSULTATION && codes.length === 0}>
        {t("referral")}
      </button>
      {done && <p role="status">{t("referralRecorded")}</p>}
    </form>
  );
}

function Warnings(props: { warnings: PrescribingWarning[] }) {
  if (props.warnings.length === 0) return null;
  return (
    <ul class="warnings" aria-label={t("warnings")}>
      {props.warnings.map((warning, index) => (
        <li key={index} class={warning.severity === WarningSeverity.SEVERE ? "error" : ""}>
          <strong>{WarningSeverity[warning.severity]}</strong>: {warning.message}
        </li>
      ))}
    </ul>
  );
}

function Prescribe(props: { encounterId: string; onDone: () => void }) {
  const [query, setQuery] = useState("");
  const [medicines, setMedicines] = useState<Medicine[]>([]);
  const [medicine, setMedicine] = useState<Medicine | null>(null);
  const [dose, setDose] = useState("1");
  const [times, setTimes] = useState("1");
  const [blocked, setBlocked] = useState<PrescribingWarning[]>([]);
  const [reason, setReason] = useState("");
  const [kept, setKept] = useState<PrescribingWarning[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [takeHome, setTakeHome] = useState(false);

  useEffect(() => {
    if (query.trim().length < 2) {
      setMedicines([]);
      return;
    }
    const timer = setTimeout(() => {
      client(FormularyService)
        .listMedicines({ query: query.trim(), pageSize: 10 })
        .then((answer) => setMedicines(answer.medicines))
        .catch(setError);
    }, 250);
    return () => clearTimeout(timer);
  }, [query]);

  async function prescribe(overrideReason: string) {
    if (!medicine) return;
    setError(null);
    setKept([]);
    const prescription = {
      encounterId: props.encounterId,
      medicineId: medicine.id,
      dose: dose.trim(),
      doseUnit: medicine.formUnit,
      route: Route.ORAL,
      timesPerDay: Number(times) || 1,
      takeHome,
    };
    try {
      const answer = await client(EncounterService).createPrescription({
        requestId: requestId(),
        prescription,
        overrideReason,
      });
      setBlocked([]);
      setReason("");
      setKept(answer.warnings);
      props.onDone();
    } catch (failure) {
      if (failure instanceof ConnectError && failure.code === Code.FailedPrecondition) {
        // Blocked: the check says why, as warnings the physician may override.
        const check = await client(EncounterService).checkPrescription({ prescription });
        if (check.blocked) {
          setBlocked(check.warnings);
          return;
        }
      }
      setError(failure);
    }
  }

  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        void prescribe("");
      }}
      aria-labelledby="prescribe-title"
    >
      <h3 id="prescribe-title">{t("prescribe")}</h3>
      <Field label={t("medicine")} name="medicine_query" value={query} onInput={setQuery} />
      {medicines.length > 0 && (
        <fieldset>
          <legend>{t("chooseMedicine")}</legend>
          {medicines.map((candidate) => (
            <label key={candidate.id}>
              <input
                type="radio"
                name="medicine"
                value={candidate.id}
                checked={medicine?.id === candidate.id}
                onChange={() => setMedicine(candidate)}
              />
              {candidate.name}
            </label>
          ))}
        </fieldset>
      )}
      <div class="grid">
        <Field label={`${t("dose")} (${medicine?.formUnit ?? ""})`} name="dose" value={dose} onInput={setDose} />
        <Field label={t("timesPerDay")} name="times_per_day" value={times} onInput={setTimes} inputMode="numeric" />
      </div>
      <label>
        <input type="checkbox" name="take_home" checked={takeHome} onChange={() => setTakeHome(!takeHome)} />
        {t("takeHome")}
      </label>
      <ErrorMessage error={error} />
      <button type="submit" disabled={!medicine}>
        {t("prescribe")}
      </button>
      {kept.length > 0 && <Warnings warnings={kept} />}
      {blocked.length > 0 && (
        <div role="alert" class="duplicates">
          <h4>{t("blockedTitle")}</h4>
          <Warnings warnings={blocked} />
          <Field label={t("overrideReason")} name="override_reason" value={reason} onInput={setReason} required />
          <button type="button" class="contrast" disabled={!reason.trim()} onClick={() => void prescribe(reason.trim())}>
            {t("prescribeAnyway")}
          </button>
        </div>
      )}
    </form>
  );
}

export function Encounter(props: { patientId: string; session: Session }) {
  const [patient, setPatient] = useState<Patient | null>(null);
  const [extract, setExtract] = useState<MedicalExtract | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);
  const [printing, setPrinting] = useState(false);

  useEffect(() => {
    let live = true;
    (async () => {
      const found = await client(PatientService).getPatient({ id: props.patientId });
      if (live) setPatient(found.patient ?? null);
      const { encounters } = await client(EncounterService).listEncounters({ patientId: props.patientId, pageSize: 20 });
      const current =
        encounters.find((encounter) => encounter.status === EncounterStatus.OPEN) ?? encounters[0];
      if (!current) {
        if (live) setMissing(true);
        return;
      }
      const answer = await client(EncounterService).getMedicalExtract({ encounterId: current.id });
      if (live) {
        setMissing(false);
        setExtract(answer.extract ?? null);
      }
    })().catch((failure) => live && setError(failure));
    return () => {
      live = false;
    };
  }, [props.patientId, generation]);

  // An admission's encounter is opened by the event the admission publishes: look again
  // shortly while it is not there yet.
  useEffect(() => {
    if (!missing) return;
    const timer = setTimeout(() => setGeneration((value) => value + 1), 1500);
    return () => clearTimeout(timer);
  }, [missing, generation]);

  useEffect(() => {
    if (printing) {
      window.print();
      setPrinting(false);
    }
  }, [printing]);

  const encounter = extract?.encounter;
  return (
    <>
      <p>
        <a href={`#/patients/${props.patientId}`}>{patient ? `${patient.familyName} ${patient.givenNames}` : ""}</a>
      </p>
      <h1>
        {t("encounters")}
        {encounter?.admission && ` · ${encounter.admission.admissionNumber}`}
      </h1>
      <ErrorMessage error={error} />
      {missing && (
        <p role="status">
          {t("noEncounter")}{" "}
          <button type="button" class="outline" onClick={() => setGeneration(generation + 1)}>
            {t("show")}
          </button>
        </p>
      )}
      {extract && encounter && (
        <>
          <p>
            {t("status")}: {encounter.status === EncounterStatus.OPEN ? t("openEncounter") : t("closedEncounter")}
          </p>
          <Section title={t("diagnoses")} id="diagnoses">
            <table>
              <tbody>
                {extract.diagnoses.map((diagnosis) => (
                  <tr key={diagnosis.id}>
                    <td>{diagnosis.code}</td>
                    <td>{diagnosis.display}</td>
                    <td>{t(roleKey[diagnosis.role] ?? "unknown")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {encounter.status === EncounterStatus.OPEN && (
              <Diagnose encounterId={encounter.id} onDone={() => setGeneration(generation + 1)} />
            )}
          </Section>
          <Section title={t("prescriptions")} id="prescriptions">
            <table>
              <tbody>
                {extract.prescriptions.map((prescription) => (
                  <tr key={prescription.id}>
                    <td>{prescription.medicineName}</td>
                    <td>
                      {prescription.dose} {prescription.doseUnit} × {prescription.timesPerDay}
                    </td>
                    <td>
                      {prescription.status === PrescriptionStatus.ACTIVE ? t("active") : t("discontinued")}
                      {prescription.takeHome && ` · ${t("takeHomeShort")}`}
                      {prescription.status === PrescriptionStatus.ACTIVE &&
                        (prescription.verification === VerificationStatus.PENDING
                          ? ` · ${t("awaitingVerification")}`
                          : prescription.verification === VerificationStatus.QUERIED
                            ? ` · ${t("queried")}`
                            : "")}
                      {prescription.overrideReason && ` · ${t("overridden")}: ${prescription.overrideReason}`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <PrintButton
              label="printPrescriptions"
              request={{ printout: Printout.PRESCRIPTIONS, encounterId: encounter.id }}
            />
            {encounter.status === EncounterStatus.OPEN && (
              <Prescribe encounterId={encounter.id} onDone={() => setGeneration(generation + 1)} />
            )}
          </Section>
          <NurseQueries
            encounterId={encounter.id}
            canAnswer={holds(props.session, "encounters.prescribe") && encounter.status === EncounterStatus.OPEN}
          />
          <NursingRecord
            encounterId={encounter.id}
            canWrite={holds(props.session, "nursing.record") && encounter.status !== EncounterStatus.CANCELLED}
          />
          <Section title={t("procedures")} id="procedures">
            <ul>
              {extract.procedures.map((procedure) => (
                <li key={procedure.id}>
                  {procedure.code} {procedure.display}
                </li>
              ))}
            </ul>
            {encounter.status === EncounterStatus.OPEN && (
              <>
                <RecordProcedure encounterId={encounter.id} onDone={() => setGeneration(generation + 1)} />
                <Refer encounterId={encounter.id} onDone={() => setGeneration(generation + 1)} />
              </>
            )}
          </Section>
          <Certificates
            patientId={props.patientId}
            encounterId={encounter.id}
            open={encounter.status === EncounterStatus.OPEN}
          />
          {encounter.status !== EncounterStatus.CANCELLED && holds(props.session, "encounters.write") && (
            <Section title={t("notes")} id="notes">
              <WriteNote encounterId={encounter.id} onDone={() => setGeneration(generation + 1)} />
            </Section>
          )}
          <Section title={t("extract")} id="extract">
            <button type="button" class="secondary" onClick={() => setPrinting(true)}>
              {t("printExtract")}
            </button>{" "}
            <PrintButton
              label="printExtractPdf"
              request={{ printout: Printout.MEDICAL_EXTRACT, encounterId: encounter.id }}
            />
            <pre class="extract">{extract.text}</pre>
          </Section>
        </>
      )}
    </>
  );
}
