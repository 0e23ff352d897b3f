// Pieces every screen uses: errors in words naming the field, labelled fields, the sex and
// date formats. Pico CSS styles plain semantic HTML, so screens stay forms, tables and
// headings that a keyboard and a screen reader already know.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { Code, ConnectError } from "@connectrpc/connect";
import { Sex } from "./gen/openhmis/patients/v1/patients_pb";
import { t, type Key } from "./i18n";

/** A failure as the desk reads it: the status in words and the fields the server named. */
export function describe(error: unknown): string {
  if (error instanceof ConnectError) {
    if (error.code === Code.Unavailable) return t("unavailable");
    return `${t("errorPrefix")} (${Code[error.code]}): ${error.rawMessage}`;
  }
  return String(error instanceof Error ? error.message : error);
}

/** The field paths an INVALID_ARGUMENT names in its message ("field: what; field: what"). */
export function fieldsNamed(error: unknown): string[] {
  if (!(error instanceof ConnectError) || error.code !== Code.InvalidArgument) return [];
  const message = error.rawMessage.replace(/^invalid request: /, "");
  return message
    .split("; ")
    .map((part) => part.split(": ")[0])
    .filter((field) => /^[a-z_.\[\]0-9]+$/.test(field));
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" class="error">
      {describe(error)}
    </p>
  );
}

export function Field(props: {
  label: string;
  name: string;
  value: string;
  onInput: (value: string) => void;
  type?: string;
  required?: boolean;
  invalid?: boolean;
  hint?: string;
  autocomplete?: string;
  inputMode?: "numeric" | "text";
}) {
  const hintId = props.hint ? `${props.name}-hint` : undefined;
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        required={props.required}
        autocomplete={props.autocomplete ?? "off"}
        inputMode={props.inputMode}
        aria-invalid={props.invalid === undefined ? undefined : props.invalid ? "true" : "false"}
        aria-describedby={hintId}
        onInput={(event) => props.onInput((event.target as HTMLInputElement).value)}
      />
      {props.hint && <small id={hintId}>{props.hint}</small>}
    </label>
  );
}

export function Section(props: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section aria-labelledby={`${props.id ?? props.title}-title`}>
      <h2 id={`${props.id ?? props.title}-title`}>{props.title}</h2>
      {props.children}
    </section>
  );
}

export function sexName(sex: Sex): string {
  switch (sex) {
    case Sex.FEMALE:
      return t("female");
    case Sex.MALE:
      return t("male");
    default:
      return t("unknown");
  }
}

const IDNP_WEIGHTS = [7, 3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1];

/** Whether `value` is a Moldovan IDNP: 13 digits, the last Σ(dᵢ·wᵢ) mod 10 (as the server checks). */
export function validIdnp(value: string): boolean {
  if (!/^\d{13}$/.test(value)) return false;
  const digits = [...value].map(Number);
  const sum = IDNP_WEIGHTS.reduce((total, weight, index) => total + weight * digits[index], 0);
  return sum % 10 === digits[12];
}

/** A labelled choice among coded values (an enum of the contracts), each named by a text key. */
export function Choice<T extends number>(props: {
  label: string;
  name: string;
  value: T;
  options: readonly (readonly [T, Key])[];
  onChange: (value: T) => void;
  hidden?: boolean;
}) {
  return (
    <label hidden={props.hidden}>
      {props.label}
      <select
        name={props.name}
        value={String(props.value)}
        onChange={(event) => props.onChange(Number((event.target as HTMLSelectElement).value) as T)}
      >
        {props.options.map(([value, key]) => (
          <option key={value} value={String(value)}>
            {t(key)}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A choice among things the server listed (wards, warehouses), by id. */
export function Pick(props: {
  label: string;
  name: string;
  value: string;
  options: readonly { id: string; name: string }[];
  onChange: (id: string) => void;
}) {
  return (
    <label>
      {props.label}
      <select
        name={props.name}
        value={props.value}
        onChange={(event) => props.onChange((event.target as HTMLSelectElement).value)}
      >
        {props.options.map((option) => (
          <option key={option.id} value={option.id}>
            {option.name}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A table with a header row of column names (text keys). */
export function Table(props: { columns: readonly Key[]; children: ComponentChildren; caption?: string }) {
  return (
    // Focusable, so a wide table can be scrolled with the keyboard.
    <div class="overflow-auto" tabIndex={0}>
    <table>
      {props.caption && <caption>{props.caption}</caption>}
      <thead>
        <tr>
          {props.columns.map((column) => (
            <th key={column} scope="col">
              {t(column)}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
    </div>
  );
}

/** What an action answered, when it succeeded. */
export type Done<T> = { value: T } | undefined;

/** The last failure of a screen's actions, and `attempt`, which runs one: the failure is
 * cleared first and kept if the action fails; a success is `{ value }`, a failure undefined. */
export function useAttempt(): [unknown, <T>(action: () => Promise<T>) => Promise<Done<T>>, (error: unknown) => void] {
  const [error, setError] = useState<unknown>(null);
  const attempt = async <T,>(action: () => Promise<T>): Promise<Done<T>> => {
    setError(null);
    try {
      return { value: await action() };
    } catch (failure) {
      setError(failure);
      return undefined;
    }
  };
  return [error, attempt, setError];
}

/** A screen's own menu of views, the current one marked. */
export function SubNav(props: { label: string; current: string; views: readonly (readonly [string, Key])[] }) {
  return (
    <nav aria-label={props.label}>
      <ul>
        {props.views.map(([href, title]) => (
          <li key={href}>
            <a href={href} aria-current={href === props.current ? "page" : undefined}>
              {t(title)}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
