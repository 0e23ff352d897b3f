// The registration desk: find a patient (typos tolerated in names, exact national id or
// MRN), register one with the IDNP checked as it is typed and the duplicate candidates shown
// before a new record is made.
import { useState } from "preact/hooks";
import { client, requestId } from "../api";
import {
  IdentifierType,
  PatientService,
  Sex,
  type PatientMatch,
} from "../gen/openhmis/patients/v1/patients_pb";
import { formatDate, t, type Key } from "../i18n";
import { Choice, ErrorMessage, Field, Section, Table, fieldsNamed, sexName, validIdnp } from "../ui";

type By = "name" | "idnp" | "mrn";

const SEXES: [Sex, Key][] = [
  [Sex.FEMALE, "female"],
  [Sex.MALE, "male"],
  [Sex.UNKNOWN, "unknown"],
];

function Matches(props: { matches: PatientMatch[]; caption: string }) {
  if (props.matches.length === 0) return <p role="status">{t("noMatches")}</p>;
  return (
    <Table caption={props.caption} columns={["mrn", "name", "birthDate", "sex", "score"]}>
        {props.matches.map(({ patient, score }) =>
          patient ? (
            <tr key={patient.id}>
              <td>
                <a href={`#/patients/${patient.id}`}>{patient.mrn}</a>
              </td>
              <td>
                {patient.familyName} {patient.givenNames}
                {patient.deceased && <mark> {t("deceased")}</mark>}
                {patient.unpaidDebt && <mark> {t("unpaidDebt")}</mark>}
              </td>
              <td>{formatDate(patient.birthDate)}</td>
              <td>{sexName(patient.sex)}</td>
              <td>{Math.round(score * 100)}%</td>
            </tr>
          ) : null,
        )}
    </Table>
  );
}

function Search() {
  const [by, setBy] = useState<By>("name");
  const [text, setText] = useState("");
  const [year, setYear] = useState("");
  const [matches, setMatches] = useState<PatientMatch[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const value = text.trim();
      const answer = await client(PatientService).searchPatients({
        name: by === "name" ? value : "",
        mrn: by === "mrn" ? value : "",
        identifier:
          by === "idnp"
            ? { type: IdentifierType.NATIONAL_ID, country: "MD", value }
            : undefined,
        birthYear: by === "name" && year ? Number(year) : 0,
        pageSize: 20,
      });
      setMatches(answer.matches);
    } catch (failure) {
      setError(failure);
      setMatches(null);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Section title={t("searchTitle")} id="search">
      <form onSubmit={submit}>
        <fieldset>
          <legend>{t("searchBy")}</legend>
          {(["name", "idnp", "mrn"] as const).map((option) => (
            <label key={option}>
              <input
                type="radio"
                name="by"
                value={option}
                checked={by === option}
                onChange={() => setBy(option)}
              />
              {t(option === "name" ? "byName" : option === "idnp" ? "byNationalId" : "byMrn")}
            </label>
          ))}
        </fieldset>
        <div class="grid">
          <Field label={t("searchText")} name="query" value={text} onInput={setText} required />
          {by === "name" && (
            <Field
              label={t("birthYear")}
              name="birth_year"
              value={year}
              onInput={setYear}
              inputMode="numeric"
            />
          )}
        </div>
        <ErrorMessage error={error} />
        <button type="submit" aria-busy={busy}>
          {t("search")}
        </button>
      </form>
      {matches && <Matches matches={matches} caption={t("searchTitle")} />}
    </Section>
  );
}

function Register() {
  const [family, setFamily] = useState("");
  const [given, setGiven] = useState("");
  const [patronymic, setPatronymic] = useState("");
  const [birth, setBirth] = useState("");
  const [sex, setSex] = useState<Sex>(Sex.FEMALE);
  const [idnp, setIdnp] = useState("");
  const [phone, setPhone] = useState("");
  const [candidates, setCandidates] = useState<PatientMatch[]>([]);
  const [registered, setRegistered] = useState<{ id: string; mrn: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const idnpState = idnp === "" ? undefined : !validIdnp(idnp.trim());
  const wrong = fieldsNamed(error);

  async function register(confirmNewPatient: boolean) {
    setBusy(true);
    setError(null);
    try {
      const answer = await client(PatientService).registerPatient({
        requestId: requestId(),
        confirmNewPatient,
        patient: {
          familyName: family.trim(),
          givenNames: given.trim(),
          patronymic: patronymic.trim(),
          birthDate: birth,
          sex,
          phones: phone.trim() ? [phone.trim()] : [],
          identifiers: idnp.trim()
            ? [{ type: IdentifierType.NATIONAL_ID, country: "MD", value: idnp.trim() }]
            : [],
        },
      });
      if (answer.patient) {
        setCandidates([]);
        setRegistered({ id: answer.patient.id, mrn: answer.patient.mrn });
      } else {
        setCandidates(answer.duplicateCandidates);
      }
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Section title={t("registerTitle")} id="register">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void register(false);
        }}
      >
        <div class="grid">
          <Field
            label={t("familyName")}
            name="family_name"
            value={family}
            onInput={setFamily}
            required
            invalid={wrong.includes("patient.family_name") || undefined}
          />
          <Field
            label={t("givenNames")}
            name="given_names"
            value={given}
            onInput={setGiven}
            required
            invalid={wrong.includes("patient.given_names") || undefined}
          />
          <Field label={t("patronymic")} name="patronymic" value={patronymic} onInput={setPatronymic} />
        </div>
        <div class="grid">
          <Field
            label={t("birthDate")}
            name="birth_date"
            type="date"
            value={birth}
            onInput={setBirth}
            required
            invalid={wrong.includes("patient.birth_date") || undefined}
          />
          <Choice label={t("sex")} name="sex" value={sex} options={SEXES} onChange={setSex} />
        </div>
        <div class="grid">
          <Field
            label={t("nationalId")}
            name="idnp"
            value={idnp}
            onInput={setIdnp}
            inputMode="numeric"
            invalid={idnpState}
            hint={
              idnpState === undefined
                ? t("nationalIdHint")
                : idnpState
                  ? t("nationalIdInvalid")
                  : t("nationalIdValid")
            }
          />
          <Field label={t("phone")} name="phone" type="tel" value={phone} onInput={setPhone} />
        </div>
        <ErrorMessage error={error} />
        <button type="submit" aria-busy={busy} disabled={idnpState === true}>
          {t("register")}
        </button>
      </form>
      {candidates.length > 0 && (
        <div role="alert" class="duplicates">
          <h3>{t("duplicatesTitle")}</h3>
          <p>{t("duplicatesHelp")}</p>
          <Matches matches={candidates} caption={t("duplicatesTitle")} />
          <button type="button" class="secondary" onClick={() => void register(true)}>
            {t("registerAnyway")}
          </button>
        </div>
      )}
      {registered && (
        <p role="status">
          {t("registered")} <a href={`#/patients/${registered.id}`}>{registered.mrn}</a>
        </p>
      )}
    </Section>
  );
}

export function Registry() {
  return (
    <>
      <h1>{t("registry")}</h1>
      <Search />
      <Register />
    </>
  );
}
