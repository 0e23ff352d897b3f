// Statistics: a ward's daily census (present at the start, admitted, moved, discharged,
// deceased, present at the end, bed-days) for a day in the facility's time zone, from the
// statistics read models.
import { useEffect, useState } from "preact/hooks";
import { client } from "../api";
import {
  StatisticsService,
  type Census as CensusData,
  type WardOccupancy,
} from "../gen/openhmis/statistics/v1/statistics_pb";
import { formatNumber, t, today, type Key } from "../i18n";
import { useWards } from "../places";
import { ErrorMessage, Field, Pick, Section, SubNav, Table } from "../ui";
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
  const [hospital, setHospital] = useState<WardOccupancy[]>([]);
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

  // Every ward of the facility at once: beds by state now, who is in now, the day's census.
  useEffect(() => {
    if (!ward || !day) return;
    client(StatisticsService)
      .getHospitalOccupancy({ facilityId: ward.facilityId, date: day })
      .then((answer) => setHospital(answer.wards))
      .catch(setError);
  }, [ward?.facilityId, day, generation]);
  const wardName = (id: string) => (id ? wards.find((candidate) => candidate.id === id)?.name ?? id.slice(0, 8) : t("total"));

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
      {hospital.length > 0 && (
        <Section title={`${t("wholeHospital")}, ${day}`} id="hospital">
          <Table
            columns={["ward", "free", "occupied", "reserved", "cleaning", "outOfService", "presentMale", "presentFemale", "atStart", "admittedCount", "dischargedCount", "atEnd"]}
          >
            {hospital.map((line) => (
              <tr key={line.departmentId} data-ward={line.departmentId}>
                <th scope="row">{wardName(line.departmentId)}</th>
                <td>{line.bedsFree}</td>
                <td>{line.bedsOccupied}</td>
                <td>{line.bedsReserved}</td>
                <td>{line.bedsCleaning}</td>
                <td>{line.bedsBlocked}</td>
                <td>{line.presentMale}</td>
                <td>{line.presentFemale}</td>
                <td>{line.census?.presentAtStart ?? 0}</td>
                <td>{line.census?.admitted ?? 0}</td>
                <td>{line.census?.discharged ?? 0}</td>
                <td>{line.census?.presentAtEnd ?? 0}</td>
              </tr>
            ))}
          </Table>
        </Section>
      )}
    </>
  );
}
