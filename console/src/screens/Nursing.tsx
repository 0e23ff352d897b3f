// The nurses' side of an encounter: the queries nurses asked about its prescriptions (the
// prescriber answers here), and the nursing record (vital signs coded with their units, notes,
// care given), which only nurses write and everyone caring for the patient reads.
import { useEffect, useState } from "preact/hooks";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { client, requestId } from "../api";
import {
  EncounterService,
  NursingEntryKind,
  type NursingEntry,
  type PrescriptionQuery,
  type VitalSignKind,
} from "../gen/openhmis/encounters/v1/encounters_pb";
import { formatTime, t } from "../i18n";
import { ErrorMessage, Field, Section, useAttempt } from "../ui";

/** The nurses' queries of the encounter's prescriptions; the prescriber answers open ones. */
export function NurseQueries(props: { encounterId: string; canAnswer: boolean }) {
  const [queries, setQueries] = useState<PrescriptionQuery[]>([]);
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [generation, setGeneration] = useState(0);
  const [error, attempt, setError] = useAttempt();

  useEffect(() => {
    let live = true;
    client(EncounterService)
      .listPrescriptionQueries({ encounterId: props.encounterId })
      .then((answer) => live && setQueries(answer.queries))
      .catch((failure) => live && setError(failure));
    return () => {
      live = false;
    };
  }, [props.encounterId, generation]);

  async function answer(query: PrescriptionQuery) {
    const done = await attempt(() =>
      client(EncounterService).answerPrescriptionQuery({
        requestId: requestId(),
        queryId: query.id,
        answer: answers[query.id] ?? "",
      }),
    );
    if (done) setGeneration(generation + 1);
  }

  if (queries.length === 0 && !error) return null;
  return (
    <Section title={t("nurseQueries")} id="nurse-queries">
      <ErrorMessage error={error} />
      <ul>
        {queries.map((query) => (
          <li key={query.id}>
            {query.question}
            {query.answer ? (
              <>
                {" "}
                → <span>{query.answer}</span>
              </>
            ) : (
              props.canAnswer && (
                <>
                  <Field
                    label={t("answerQuery")}
                    name={`answer-${query.id}`}
                    value={answers[query.id] ?? ""}
                    onInput={(value) => setAnswers({ ...answers, [query.id]: value })}
                  />
                  <button type="button" onClick={() => void answer(query)}>
                    {t("sendAnswer")}
                  </button>
                </>
              )
            )}
          </li>
        ))}
      </ul>
    </Section>
  );
}

/** The encounter's nursing record, newest first; nurses chart vital signs and notes. */
export function NursingRecord(props: { encounterId: string; canWrite: boolean; timeZone?: string }) {
  const [entries, setEntries] = useState<NursingEntry[]>([]);
  const [kinds, setKinds] = useState<VitalSignKind[]>([]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [note, setNote] = useState("");
  const [generation, setGeneration] = useState(0);
  const [saved, setSaved] = useState("");
  const [error, attempt, setError] = useAttempt();

  useEffect(() => {
    let live = true;
    client(EncounterService)
      .getNursingRecord({ encounterId: props.encounterId })
      .then((answer) => {
        if (!live) return;
        setEntries(answer.entries);
        setKinds(answer.vitalSignKinds);
      })
      .catch((failure) => live && setError(failure));
    return () => {
      live = false;
    };
  }, [props.encounterId, generation]);

  async function chart() {
    const vitalSigns = kinds
      .filter((kind) => (values[kind.code] ?? "").trim() !== "")
      .map((kind) => ({ code: kind.code, value: values[kind.code] }));
    const done = await attempt(() =>
      client(EncounterService).recordVitalSigns({ requestId: requestId(), encounterId: props.encounterId, vitalSigns }),
    );
    if (done) {
      setValues({});
      setSaved(t("vitalSignsRecorded"));
      setGeneration(generation + 1);
    }
  }

  async function write(kind: NursingEntryKind) {
    const done = await attempt(() =>
      client(EncounterService).addNursingEntry({
        requestId: requestId(),
        entry: { encounterId: props.encounterId, kind, text: note },
      }),
    );
    if (done) {
      setNote("");
      setSaved(t("nursingEntryRecorded"));
      setGeneration(generation + 1);
    }
  }

  return (
    <Section title={t("nursingRecord")} id="nursing-record">
      <ErrorMessage error={error} />
      {saved && <p role="status">{saved}</p>}
      <ul>
        {entries.map((entry) => (
          <li key={entry.id}>
            {entry.observeTime && formatTime(timestampMs(entry.observeTime), props.timeZone)}{" "}
            {entry.kind === NursingEntryKind.VITAL_SIGNS
              ? entry.vitalSigns.map((sign) => `${sign.name} ${sign.value} ${sign.unit}`).join(" · ")
              : `${entry.kind === NursingEntryKind.CARE ? t("careGiven") : t("nursingNote")}: ${entry.text}`}
          </li>
        ))}
      </ul>
      {props.canWrite && (
        <>
          <fieldset>
            <legend>{t("vitalSigns")}</legend>
            {kinds.map((kind) => (
              <Field
                key={kind.code}
                label={`${kind.name} (${kind.unit})`}
                name={`sign-${kind.code}`}
                inputMode="text"
                value={values[kind.code] ?? ""}
                onInput={(value) => setValues({ ...values, [kind.code]: value })}
              />
            ))}
            <button type="button" onClick={() => void chart()}>
              {t("recordVitalSigns")}
            </button>
          </fieldset>
          <Field label={t("nursingNote")} name="nursing-note" value={note} onInput={setNote} />
          <button type="button" class="secondary" onClick={() => void write(NursingEntryKind.NOTE)}>
            {t("addNursingNote")}
          </button>{" "}
          <button type="button" class="secondary" onClick={() => void write(NursingEntryKind.CARE)}>
            {t("addCareGiven")}
          </button>
        </>
      )}
    </Section>
  );
}
