import { t } from "../i18n";
import type { Ward } from "./Admissions";

/** The ward a screen works on, chosen among those the caller may read. */
export function WardPicker(props: { wards: Ward[]; value: string; onChange: (id: string) => void }) {
  return (
    <label>
      {t("ward")}
      <select
        name="ward"
        value={props.value}
        onChange={(event) => props.onChange((event.target as HTMLSelectElement).value)}
      >
        {props.wards.map((ward) => (
          <option key={ward.id} value={ward.id}>
            {ward.name}
          </option>
        ))}
      </select>
    </label>
  );
}
