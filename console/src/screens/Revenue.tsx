// Revenue and receivables: a period's revenue by ward, physician, service group or payer (the
// facility's days), the case-mix index of the stays discharged in it, and what patients and
// insurers owe now; an insurer's reconciliation by month (its shares and DRG claims beside
// what it paid), the period's journal for accounting as a CSV file, and the claims worklist.
import { useEffect, useState } from "preact/hooks";
import { client } from "../api";
import {
  BillingService,
  ReconciliationPeriod,
  RevenueGrouping,
  type GetCaseMixResponse,
  type GetInsurerReconciliationResponse,
  type GetReceivablesResponse,
  type GetRevenueResponse,
} from "../gen/openhmis/billing/v1/billing_pb";
import { formatMoney, t, today, type Key } from "../i18n";
import { DepartmentKind } from "../gen/openhmis/core/v1/core_pb";
import { useDepartments } from "../places";
import { Choice, ErrorMessage, Field, Section, Table, useAttempt } from "../ui";
import { Claims } from "./Claims";

const GROUPINGS: readonly (readonly [RevenueGrouping, Key])[] = [
  [RevenueGrouping.WARD, "ward"],
  [RevenueGrouping.SERVICE_GROUP, "serviceGroup"],
  [RevenueGrouping.PAYER, "payer"],
  [RevenueGrouping.PHYSICIAN, "physician"],
];

/** Every kind of department a service may be given in (charged to). */
const CHARGED = [
  DepartmentKind.WARD,
  DepartmentKind.INTENSIVE_CARE,
  DepartmentKind.EMERGENCY,
  DepartmentKind.OUTPATIENT,
  DepartmentKind.OPERATING_BLOCK,
  DepartmentKind.LABORATORY,
  DepartmentKind.IMAGING,
] as const;

export function Revenue() {
  const [wards, wardsError] = useDepartments(CHARGED);
  const facilityId = wards[0]?.facilityId ?? "";
  const zone = wards[0]?.timeZone ?? "UTC";
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [groupBy, setGroupBy] = useState(RevenueGrouping.WARD);
  const [revenue, setRevenue] = useState<GetRevenueResponse | null>(null);
  const [mix, setMix] = useState<GetCaseMixResponse | null>(null);
  const [owed, setOwed] = useState<GetReceivablesResponse | null>(null);
  const [reconciled, setReconciled] = useState<{ payer: string; answer: GetInsurerReconciliationResponse } | null>(null);
  const [journal, setJournal] = useState("");
  const [error, attempt] = useAttempt();

  useEffect(() => {
    if (!facilityId) return;
    if (!from) setFrom(today(zone, -30));
    if (!to) setTo(today(zone));
  }, [facilityId]);

  const wardName = (id: string) => wards.find((ward) => ward.id === id)?.name ?? id.slice(0, 8);
  const label = (key: string) => {
    if (groupBy === RevenueGrouping.WARD) return key ? wardName(key) : t("noWard");
    if (groupBy === RevenueGrouping.PAYER && key === "patient") return t("patientShare");
    return key || "—";
  };

  async function show(event?: Event) {
    event?.preventDefault();
    const done = await attempt(() =>
      Promise.all([
        client(BillingService).getRevenue({ facilityId, fromDate: from, toDate: to, groupBy }),
        client(BillingService).getCaseMix({ facilityId, fromDate: from, toDate: to }),
        client(BillingService).getReceivables({}),
      ]),
    );
    if (!done) return;
    setRevenue(done.value[0]);
    setMix(done.value[1]);
    setOwed(done.value[2]);
    setReconciled(null);
  }

  async function reconcile(contractId: string, payer: string) {
    const done = await attempt(() =>
      client(BillingService).getInsurerReconciliation({
        contractId,
        facilityId,
        fromDate: from,
        toDate: to,
        period: ReconciliationPeriod.MONTH,
      }),
    );
    if (done) setReconciled({ payer, answer: done.value });
  }

  async function exportJournal() {
    const done = await attempt(() => client(BillingService).exportJournal({ facilityId, fromDate: from, toDate: to }));
    if (!done) return;
    if (journal) URL.revokeObjectURL(journal);
    setJournal(URL.createObjectURL(new Blob([done.value.csv], { type: "text/csv" })));
  }

  return (
    <>
      <h1>{t("revenue")}</h1>
      <ErrorMessage error={wardsError} />
      <form onSubmit={show}>
        <div class="grid">
          <Field label={t("from")} name="from" type="date" value={from} onInput={setFrom} />
          <Field label={t("to")} name="to" type="date" value={to} onInput={setTo} />
          <Choice label={t("groupBy")} name="group-by" value={groupBy} options={GROUPINGS} onChange={setGroupBy} />
        </div>
        <button type="submit" disabled={!facilityId}>
          {t("show")}
        </button>
      </form>
      <ErrorMessage error={error} />
      {revenue && (
        <Section title={t("revenueOfPeriod")} id="revenue-table">
          <Table columns={["key", "charges", "amount", "insurers", "patientShare"]}>
            {revenue.rows.map((row) => (
              <tr key={row.key}>
                <th scope="row">{label(row.key)}</th>
                <td>{row.charges}</td>
                <td>{formatMoney(row.amount)}</td>
                <td>{formatMoney(row.insurers)}</td>
                <td>{formatMoney(row.patients)}</td>
              </tr>
            ))}
            {revenue.total && (
              <tr>
                <th scope="row">{t("total")}</th>
                <td>{revenue.total.charges}</td>
                <td data-testid="revenue-total">{formatMoney(revenue.total.amount)}</td>
                <td>{formatMoney(revenue.total.insurers)}</td>
                <td>{formatMoney(revenue.total.patients)}</td>
              </tr>
            )}
          </Table>
        </Section>
      )}
      {mix && (
        <Section title={t("caseMix")} id="case-mix">
          <Table columns={["ward", "cases", "caseMixIndex"]}>
            {mix.wards.map((row) => (
              <tr key={row.departmentId}>
                <th scope="row">{wardName(row.departmentId)}</th>
                <td>{row.cases}</td>
                <td>{row.caseMixIndex}</td>
              </tr>
            ))}
            {mix.total && (
              <tr>
                <th scope="row">{t("total")}</th>
                <td>{mix.total.cases}</td>
                <td>{mix.total.caseMixIndex}</td>
              </tr>
            )}
          </Table>
        </Section>
      )}
      {owed && (
        <Section title={t("receivables")} id="receivables">
          <p>
            {t("patientsOwe")} <strong data-testid="patients-owe">{formatMoney(owed.patientsOwe)}</strong> (
            {owed.owingAccounts} {t("accounts")})
          </p>
          <Table columns={["payer", "insurerShares", "openClaims"]}>
            {owed.insurers.map((insurer) => (
              <tr key={insurer.contractId}>
                <th scope="row">{insurer.payerCode}</th>
                <td>{formatMoney(insurer.shares)}</td>
                <td>
                  {formatMoney(insurer.claimsOpen)} ({insurer.openClaims}){" "}
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`${t("reconcile")}: ${insurer.payerCode}`}
                    onClick={() => reconcile(insurer.contractId, insurer.payerCode)}
                  >
                    {t("reconcile")}
                  </button>
                </td>
              </tr>
            ))}
          </Table>
          <button type="button" class="secondary" onClick={exportJournal}>
            {t("exportJournal")}
          </button>{" "}
          {journal && (
            <a href={journal} download={`journal-${from}-${to}.csv`}>
              {t("downloadJournal")}
            </a>
          )}
        </Section>
      )}
      {owed && <Claims facilityId={facilityId} from={from} to={to} />}
      {reconciled && (
        <Section title={`${t("reconciliation")}: ${reconciled.payer}`} id="reconciliation">
          <Table columns={["month", "charged", "claimsClaimed", "claimsPaidPaid", "receivedMoney", "onAccount"]}>
            {[...reconciled.answer.rows, ...(reconciled.answer.total ? [reconciled.answer.total] : [])].map((row, index) => (
              <tr key={row.period}>
                <th scope="row">{index === reconciled.answer.rows.length ? t("total") : row.period}</th>
                <td>{formatMoney(row.charged)}</td>
                <td>
                  {formatMoney(row.claimed)} ({row.claims})
                </td>
                <td>{formatMoney(row.paidClaimsPaid)}</td>
                <td>{formatMoney(row.received)}</td>
                <td>{formatMoney(row.receivedOnAccount)}</td>
              </tr>
            ))}
          </Table>
          <p>
            {t("claimsOutstanding")}: <strong data-testid="claims-outstanding">{formatMoney(reconciled.answer.claimsOutstanding)}</strong>
          </p>
        </Section>
      )}
    </>
  );
}
