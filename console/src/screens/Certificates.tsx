// The patient's certificates (newest first) and issuing one from the encounter: sick leave
// (period, ICD-10 cause, employer, or the extension of an earlier one) or a medical
// certificate (purpose and findings). Numbers come from the facility's series.
import { useEffect, useState } from "preact/hooks";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { client, requestId } from "../api";
import {
  CertificateKind,
  CertificateService,
  type Certificate,
} from "../gen/openhmis/encounters/v1/certificates_pb";
import { formatDate, t, type Key } from "../i18n";
import { Choice, ErrorMessage, Field, Pick, Section, Table } from "../ui";
import { ConceptSearch } from "./ConceptSearch";
import { PrintButton } from "./Documents";
import { Printout } from "../gen/openhmis/documents/v1/documents_pb";

const kinds: [CertificateKind, Key][] = [
  [CertificateKind.SICK_LEAVE, "sickLeave"],
  [CertificateKind.MEDICAL, "medicalCertificate"],
  [CertificateKind.DEATH, "deathCertificate"],
];
const manners: [string, Key][] = [
  ["natural", "natural"],
  ["accident", "accident"],
  ["pending investigation", "pendingInvestigation"],
  ["undetermined", "undetermined"],
];
const kindKey: Record<number, Key> = {
  [CertificateKind.SICK_LEAVE]: "sickLeave",
  [CertificateKind.MEDICAL]: "medicalCertificate",
  [CertificateKind.DEATH]: "deathCertificate",
};

function describe(certificate: Certificate): string {
  const details = certificate.details;
  if (details.case === "sickLeave") {
    const leave = details.value;
    return `${formatDate(leave.periodStart)} – ${formatDate(leave.periodEnd)} · ${leave.diagnosisCode} · ${leave.chainDays} ${t("chainDays")}`;
  }
  if (details.case === "medical") return `${details.value.purpose}: ${details.value.findings}`;
  if (details.case === "death") return `${details.value.immediateCauseCode} · ${details.value.manner}`;
  return "";
}

export function Certificates(props: { patientId: string; encounterId: string; open: boolean }) {
  const [certificates, setCertificates] = useState<Certificate[]>([]);
  const [kind, setKind] = useState(CertificateKind.SICK_LEAVE);
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");
  const [codes, setCodes] = useState<string[]>([]);
  const [employer, setEmployer] = useState("");
  const [previous, setPrevious] = useState("");
  const [purpose, setPurpose] = useState("");
  const [findings, setFindings] = useState("");
  const [deathTime, setDeathTime] = useState("");
  const [place, setPlace] = useState("");
  const [immediate, setImmediate] = useState<string[]>([]);
  const [underlying, setUnderlying] = useState<string[]>([]);
  const [manner, setManner] = useState("natural");
  const [autopsy, setAutopsy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    client(CertificateService)
      .listCertificates({ patientId: props.patientId })
      .then((answer) => setCertificates(answer.certificates))
      .catch(setError);
  }, [props.patientId, generation]);

  const sickLeaves = certificates.filter((certificate) => certificate.kind === CertificateKind.SICK_LEAVE);

  async function issue(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await client(CertificateService).issueCertificate({
        requestId: requestId(),
        certificate: {
          kind,
          encounterId: props.encounterId,
          details:
            kind === CertificateKind.DEATH
              ? {
                  case: "death",
                  value: {
                    deathTime: deathTime ? timestampFromDate(new Date(deathTime)) : undefined,
                    placeOfDeath: place.trim(),
                    immediateCauseCode: immediate[0] ?? "",
                    underlyingCauseCode: underlying[0] ?? immediate[0] ?? "",
                    manner,
                    autopsy,
                  },
                }
              : kind === CertificateKind.SICK_LEAVE
              ? {
                  case: "sickLeave",
                  value: {
                    periodStart: start,
                    periodEnd: end,
                    diagnosisCode: codes[0] ?? "",
                    employer: employer.trim(),
                    previousCertificateId: previous,
                  },
                }
              : { case: "medical", value: { purpose: purpose.trim(), findings: findings.trim() } },
        },
      });
      setGeneration(generation + 1);
    } catch (failure) {
      setError(failure);
    }
  }

  return (
    <Section title={t("certificates")} id="certificates">
      <Table columns={["number", "certificateKind", "when", "actions"]}>
        {certificates.map((certificate) => (
          <tr key={certificate.id}>
            <td>
              {certificate.series} {String(certificate.number)}
            </td>
            <td>{t(kindKey[certificate.kind] ?? "unknown")}</td>
            <td>{describe(certificate)}</td>
            <td>
              <PrintButton
                label="issuePdf"
                name={`${certificate.series} ${String(certificate.number)}`}
                request={{ printout: Printout.CERTIFICATE, certificateId: certificate.id }}
              />
            </td>
          </tr>
        ))}
      </Table>
      {props.open && (
        <form onSubmit={issue} aria-labelledby="certificate-title">
          <h3 id="certificate-title">{t("issueCertificate")}</h3>
          <Choice label={t("certificateKind")} name="certificate_kind" value={kind} options={kinds} onChange={setKind} />
          {kind === CertificateKind.DEATH ? (
            <>
              <div class="grid">
                <Field label={t("deathTime")} name="death_time" type="datetime-local" value={deathTime} onInput={setDeathTime} required />
                <Field label={t("placeOfDeath")} name="place_of_death" value={place} onInput={setPlace} required />
                <Pick
                  label={t("manner")}
                  name="manner"
                  value={manner}
                  options={manners.map(([id, key]) => ({ id, name: t(key) }))}
                  onChange={setManner}
                />
              </div>
              <ConceptSearch system="icd10" label={t("immediateCause")} name="immediate_cause" chosen={immediate} onChosen={setImmediate} />
              <ConceptSearch system="icd10" label={t("underlyingCause")} name="underlying_cause" chosen={underlying} onChosen={setUnderlying} />
              <label>
                <input type="checkbox" name="autopsy" checked={autopsy} onChange={() => setAutopsy(!autopsy)} />
                {t("autopsy")}
              </label>
            </>
          ) : kind === CertificateKind.SICK_LEAVE ? (
            <>
              <div class="grid">
                <Field label={t("periodStart")} name="period_start" type="date" value={start} onInput={setStart} required />
                <Field label={t("periodEnd")} name="period_end" type="date" value={end} onInput={setEnd} required />
                <Field label={t("employer")} name="employer" value={employer} onInput={setEmployer} />
              </div>
              <Pick
                label={t("extends")}
                name="previous_certificate"
                value={previous}
                options={[
                  { id: "", name: t("none") },
                  ...sickLeaves.map((leave) => ({ id: leave.id, name: `${leave.series} ${String(leave.number)} · ${describe(leave)}` })),
                ]}
                onChange={setPrevious}
              />
              <ConceptSearch system="icd10" label={t("icdSearch")} name="sick_leave_code" chosen={codes} onChosen={setCodes} />
            </>
          ) : (
            <div class="grid">
              <Field label={t("purpose")} name="purpose" value={purpose} onInput={setPurpose} required />
              <Field label={t("findings")} name="findings" value={findings} onInput={setFindings} required />
            </div>
          )}
          <ErrorMessage error={error} />
          <button
            type="submit"
            disabled={
              (kind === CertificateKind.SICK_LEAVE && codes.length === 0) ||
              (kind === CertificateKind.DEATH && immediate.length === 0)
            }
          >
            {t("issue")}
          </button>
        </form>
      )}
    </Section>
  );
}
