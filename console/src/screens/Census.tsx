// Statistics: a ward's daily census (present at the start, admitted, moved, discharged,
// deceased, present at the end, bed-days) for a day in the facility's time zone, from the
// statistics read models.
import { useEffect, useState } from "preact/hooks";
import { client } from "../api";
import { StatisticsService, type Census as CensusData } from "../gen/openhmis/statistics/v1/statistics_pb";
import { formatNumber, t, today, type Key } from "../i18n";
import { useWards } from "../places";
import { ErrorMessage, Field, Pick, Section, SubNav } from "../ui";
import { STATISTICS_VIEWS } from "./Reports";

const rows: [Key, keyof CensusData][] = [
  ["atStart", "presentAtStart"],
  ["admittedCount", "admitted"],
  ["transferredIn", "transferredIn"],
  ["transferredOut", "transferredOut"],
  ["dischargedCount", "discharged"],
  ["deaths", "deceased"],
  ["atEnd", "presentAtEnd"],
  ["bedDays", "bedDays"],
];

export function Census() {
  const [wards, wardsError] = useWards();
  const [wardId, setWardId] = useState("");
  const ward = wards.find((candidate) => candidate.id === wardId) ?? wards[0];
  const [date, setDate] = useState("");
  const [census, setCensus] = useState<CensusData | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);
  const day = date || (ward ? today(ward.timeZone) : "");

  useEffect(() => {
    if (!ward || !day) return;
    client(StatisticsService)
      .getDailyCensus({ departmentId: ward.id, date: day })
      .then((answer) => {
        setError(null);
        setCensus(answer.census ?? null);
      })
      .catch(setError);
  }, [ward?.id, day, generation]);

  return (
    <>
      <h1>{t("statistics")}</h1>
      <SubNav label={t("statistics")} current="#/statistics" views={STATISTICS_VIEWS} />
      <ErrorMessage error={wardsError} />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          setGeneration(generation + 1);
        }}
      >
        <div class="grid">
          <Pick label={t("ward")} name="ward" value={ward?.id ?? ""} options={wards} onChange={setWardId} />
          <Field label={t("day")} name="date" type="date" value={day} onInput={setDate} />
        </div>
        <button type="submit">{t("show")}</button>
      </form>
      <ErrorMessage error={error} />
      {census && (
        <Section title={`${t("census")}: ${ward?.name ?? ""}, ${census.date}`} id="census">
          <table>
            <tbody>
              {rows.map(([key, field]) => (
                <tr key={key}>
                  <th scope="row">{t(key)}</th>
                  <td data-testid={`census-${field}`}>{formatNumber(String(census[field]))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
    </>
  );
}
