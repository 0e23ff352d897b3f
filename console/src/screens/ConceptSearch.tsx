// A code system's concepts found by code or words as the user types, in the terminology.
import { useEffect, useState } from "preact/hooks";
import { client } from "../api";
import { TerminologyService, type Concept } from "../gen/openhmis/terminology/v1/terminology_pb";
import { t } from "../i18n";
import { ErrorMessage, Field } from "../ui";

/** Concepts of a code system found by code or words as the user types (after a pause); the
 * chosen codes are radio buttons (one) or checkboxes (several). */
export function ConceptSearch(props: {
  system: string;
  label: string;
  name: string;
  chosen: string[];
  onChosen: (codes: string[]) => void;
  several?: boolean;
}) {
  const [query, setQuery] = useState("");
  // What was found, and in which code system: a list found in another system (the form's
  // system just changed) is never offered.
  const [found, setFound] = useState<{ system: string; concepts: Concept[] }>({ system: "", concepts: [] });
  const concepts = found.system === props.system ? found.concepts : [];
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (query.trim().length < 2) {
      setFound({ system: "", concepts: [] });
      return;
    }
    const timer = setTimeout(() => {
      client(TerminologyService)
        .searchConcepts({ system: props.system, query: query.trim(), selectableOnly: true, pageSize: 10 })
        .then((answer) => setFound({ system: props.system, concepts: answer.concepts }))
        .catch(setError);
    }, 250);
    return () => clearTimeout(timer);
  }, [query, props.system]);
  const toggle = (code: string) =>
    props.onChosen(
      props.several
        ? props.chosen.includes(code)
          ? props.chosen.filter((chosen) => chosen !== code)
          : [...props.chosen, code]
        : [code],
    );
  return (
    <>
      <Field label={props.label} name={`${props.name}_query`} value={query} onInput={setQuery} />
      <ErrorMessage error={error} />
      {concepts.length > 0 && (
        <fieldset>
          <legend>{t("chooseCode")}</legend>
          {concepts.map((concept) => (
            <label key={concept.code}>
              <input
                type={props.several ? "checkbox" : "radio"}
                name={props.name}
                value={concept.code}
                checked={props.chosen.includes(concept.code)}
                onChange={() => toggle(concept.code)}
              />
              {concept.code} {concept.display}
            </label>
          ))}
        </fieldset>
      )}
    </>
  );
}

