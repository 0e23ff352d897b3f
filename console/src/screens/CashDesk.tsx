// The cash desk: the cashier's shift (opened with its float, found again after a reload),
// a patient's accounts found by MRN with the bill line by line (the insurers' and the
// patient's shares), payments and deposits taken with their receipt number, and the shift
// closed with the cash counted against the report by method; the account invoiced (interim
// while the patient is in, final after the discharge, supplementary for what lands after it)
// and a payment refunded, in part or whole, with a reason.
import { useEffect, useState } from "preact/hooks";
import { client, requestId } from "../api";
import {
  AccountStatus,
  BillingService,
  InvoiceKind,
  PaymentKind,
  PaymentMethod,
  type Account,
  type ShiftReport,
  type Shift,
} from "../gen/openhmis/billing/v1/billing_pb";
import { PatientService, type Patient } from "../gen/openhmis/patients/v1/patients_pb";
import { formatMoney, formatNumber, t, type Key } from "../i18n";
import { Choice, ErrorMessage, Field, Section, Table, useAttempt } from "../ui";

const METHODS: readonly (readonly [PaymentMethod, Key])[] = [
  [PaymentMethod.CASH, "cash"],
  [PaymentMethod.CARD, "card"],
  [PaymentMethod.BANK_TRANSFER, "bankTransfer"],
  [PaymentMethod.MOBILE, "mobileMoney"],
];

const KINDS: readonly (readonly [PaymentKind, Key])[] = [
  [PaymentKind.PAYMENT, "payment"],
  [PaymentKind.DEPOSIT, "deposit"],
];

const INVOICE_KINDS: readonly (readonly [InvoiceKind, Key])[] = [
  [InvoiceKind.INTERIM, "interimInvoice"],
  [InvoiceKind.FINAL, "finalInvoice"],
  [InvoiceKind.SUPPLEMENTARY, "supplementaryInvoice"],
];

function methodName(method: PaymentMethod): string {
  return t(METHODS.find(([value]) => value === method)?.[1] ?? "unknown");
}

function money(amount: string): string {
  return amount ? formatMoney(amount) : "";
}

export function CashDesk() {
  const [error, attempt] = useAttempt();
  const [shift, setShift] = useState<Shift | null>(null);
  const [desk, setDesk] = useState("");
  const [float, setFloat] = useState("0");
  const [mrn, setMrn] = useState("");
  const [patient, setPatient] = useState<Patient | null>(null);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [account, setAccount] = useState<Account | null>(null);
  const [kind, setKind] = useState(PaymentKind.PAYMENT);
  const [method, setMethod] = useState(PaymentMethod.CASH);
  const [amount, setAmount] = useState("");
  const [confirmation, setConfirmation] = useState("");
  const [receipt, setReceipt] = useState("");
  const [counted, setCounted] = useState("");
  const [refunding, setRefunding] = useState("");
  const [refundAmount, setRefundAmount] = useState("");
  const [refundReason, setRefundReason] = useState("");
  const [report, setReport] = useState<ShiftReport | null>(null);

  useEffect(() => {
    attempt(() => client(BillingService).getOpenShift({})).then((done) => setShift(done?.value.shift ?? null));
  }, []);

  const open = async (id: string) => {
    const done = await attempt(() => client(BillingService).getAccount({ accountId: id }));
    if (done) setAccount(done.value.account ?? null);
  };

  async function find(event: Event) {
    event.preventDefault();
    const done = await attempt(async () => {
      const found = await client(PatientService).searchPatients({ mrn: mrn.trim(), pageSize: 1 });
      const who = found.matches[0]?.patient ?? null;
      if (!who) throw new Error(t("noMatches"));
      const listed = await client(BillingService).listAccounts({ patientId: who.id });
      return { who, listed: listed.accounts };
    });
    if (!done) return;
    setPatient(done.value.who);
    setAccounts(done.value.listed);
    setAccount(null);
    setReceipt("");
    if (done.value.listed[0]) await open(done.value.listed[0].id);
  }

  return (
    <>
      <h1>{t("cashDesk")}</h1>
      <ErrorMessage error={error} />
      {!shift && !report && (
        <Section title={t("openShift")} id="open-shift">
          <form
            onSubmit={async (event) => {
              event.preventDefault();
              const done = await attempt(() =>
                client(BillingService).openShift({ requestId: requestId(), desk, openingFloat: float }),
              );
              if (done) setShift(done.value.shift ?? null);
            }}
          >
            <div class="grid">
              <Field label={t("desk")} name="desk" value={desk} onInput={setDesk} required />
              <Field label={t("openingFloat")} name="opening-float" value={float} onInput={setFloat} inputMode="numeric" />
            </div>
            <button type="submit">{t("openShift")}</button>
          </form>
        </Section>
      )}
      {shift && (
        <>
          <p role="status">
            {t("shiftOpen")}: {shift.desk} · {t("openingFloat")} {money(shift.openingFloat)}
          </p>
          <form onSubmit={find}>
            <div class="grid">
              <Field label={t("mrn")} name="mrn" value={mrn} onInput={setMrn} required />
              <button type="submit">{t("search")}</button>
            </div>
          </form>
          {patient && (
            <p>
              {patient.familyName} {patient.givenNames} · {accounts.length} {t("accounts")}
            </p>
          )}
          {accounts.length > 1 && (
            <p>
              {accounts.map((candidate) => (
                <button type="button" class="secondary" key={candidate.id} onClick={() => open(candidate.id)}>
                  {candidate.admissionId ? t("inpatientAccount") : t("outpatientAccount")} · {money(candidate.balance)}
                </button>
              ))}
            </p>
          )}
          {account && (
            <Section title={t("bill")} id="bill">
              {account.warnings.map((warning) => (
                <p class="error" key={warning}>
                  {warning}
                </p>
              ))}
              <Table columns={["service", "quantity", "unitPrice", "amount", "insurers", "patientShare"]}>
                {account.charges.map((charge) => (
                  <tr key={charge.id}>
                    <td>{charge.description}</td>
                    <td>{formatNumber(charge.quantity)}</td>
                    <td>{money(charge.unitPrice)}</td>
                    <td>{money(charge.amount)}</td>
                    <td>
                      {charge.shares
                        .filter((share) => share.contractId)
                        .map((share) => `${share.payerCode} ${money(share.amount)}`)
                        .join(", ")}
                    </td>
                    <td>{money(charge.shares.find((share) => !share.contractId)?.amount ?? "")}</td>
                  </tr>
                ))}
              </Table>
              <p data-testid="bill-totals">
                {t("total")} {money(account.total)} {account.currency} ·{" "}
                {account.insurerShares.map((share) => `${share.payerCode} ${money(share.amount)} · `).join("")}
                {t("patientShare")} {money(account.patientTotal)} · {t("paid")} {money(account.paid)} ·{" "}
                <strong>
                  {t("balance")} <span data-testid="balance">{money(account.balance)}</span>
                </strong>
              </p>
              <form
                onSubmit={async (event) => {
                  event.preventDefault();
                  const done = await attempt(() =>
                    client(BillingService).recordPayment({
                      requestId: requestId(),
                      shiftId: shift.id,
                      accountId: account.id,
                      kind,
                      method,
                      amount,
                      confirmationId: confirmation,
                    }),
                  );
                  if (!done) return;
                  setReceipt(done.value.payment?.receiptNumber ?? "");
                  setAmount("");
                  setConfirmation("");
                  await open(account.id);
                }}
              >
                <div class="grid">
                  <Choice label={t("paymentKind")} name="kind" value={kind} options={KINDS} onChange={setKind} />
                  <Choice label={t("paymentMethod")} name="method" value={method} options={METHODS} onChange={setMethod} />
                  <Field label={t("amount")} name="amount" value={amount} onInput={setAmount} inputMode="numeric" required />
                  <Field
                    label={t("confirmation")}
                    name="confirmation"
                    value={confirmation}
                    onInput={setConfirmation}
                    hint={t("confirmationHint")}
                  />
                </div>
                <button type="submit">{t("takePayment")}</button>
              </form>
              {receipt && (
                <p role="status">
                  {t("receipt")} {receipt}
                </p>
              )}
              <Table columns={["receipt", "paymentMethod", "amount", "refunded"]}>
                {account.payments.map((payment) => (
                  <tr key={payment.id}>
                    <td>{payment.receiptNumber}</td>
                    <td>{methodName(payment.method)}</td>
                    <td>{money(payment.amount)}</td>
                    <td>
                      {money(payment.refunded)}{" "}
                      <button type="button" class="secondary" onClick={() => setRefunding(payment.id)}>
                        {t("refund")}
                      </button>
                    </td>
                  </tr>
                ))}
              </Table>
              {refunding && (
                <form
                  aria-label={t("refundPayment")}
                  onSubmit={async (event) => {
                    event.preventDefault();
                    const done = await attempt(() =>
                      client(BillingService).refundPayment({
                        requestId: requestId(),
                        shiftId: shift.id,
                        paymentId: refunding,
                        amount: refundAmount,
                        method: PaymentMethod.UNSPECIFIED,
                        reason: refundReason,
                      }),
                    );
                    if (!done) return;
                    setReceipt(done.value.refund?.receiptNumber ?? "");
                    setRefunding("");
                    setRefundAmount("");
                    setRefundReason("");
                    await open(account.id);
                  }}
                >
                  <div class="grid">
                    <Field label={t("amount")} name="refund-amount" value={refundAmount} onInput={setRefundAmount} inputMode="numeric" required />
                    <Field label={t("refundReason")} name="refund-reason" value={refundReason} onInput={setRefundReason} required />
                  </div>
                  <button type="submit">{t("refundPayment")}</button>
                </form>
              )}
            </Section>
          )}
          {account && (
            <Section title={t("invoices")} id="invoices">
              {account.status === AccountStatus.SETTLED && <p role="status">{t("settled")}</p>}
              <Table columns={["invoiceNumber", "invoiceKind", "total", "patientShare", "paid", "patientDue"]}>
                {account.invoices.map((invoice) => (
                  <tr key={invoice.id}>
                    <td>{invoice.number}</td>
                    <td>{t(INVOICE_KINDS.find(([value]) => value === invoice.kind)?.[1] ?? "unknown")}</td>
                    <td>{money(invoice.total)}</td>
                    <td>{money(invoice.patientTotal)}</td>
                    <td>{money(invoice.paid)}</td>
                    <td>{money(invoice.patientDue)}</td>
                  </tr>
                ))}
              </Table>
              <p>{t("issueInvoiceHint")}</p>
              {[InvoiceKind.INTERIM, InvoiceKind.FINAL].map((asked) => (
                <button
                  type="button"
                  class={asked === InvoiceKind.INTERIM ? "secondary" : undefined}
                  key={asked}
                  onClick={async () => {
                    const done = await attempt(() =>
                      client(BillingService).settleAccount({ requestId: requestId(), accountId: account.id, kind: asked }),
                    );
                    if (done) await open(account.id);
                  }}
                >
                  {t(asked === InvoiceKind.INTERIM ? "interimInvoice" : "finalInvoice")}
                </button>
              ))}
            </Section>
          )}
          <Section title={t("closeShift")} id="close-shift">
            <form
              onSubmit={async (event) => {
                event.preventDefault();
                const done = await attempt(() =>
                  client(BillingService).closeShift({ requestId: requestId(), shiftId: shift.id, countedCash: counted }),
                );
                if (!done) return;
                setReport(done.value.report ?? null);
                setShift(null);
                setAccount(null);
              }}
            >
              <Field label={t("countedCash")} name="counted-cash" value={counted} onInput={setCounted} inputMode="numeric" required />
              <button type="submit">{t("closeShift")}</button>
            </form>
          </Section>
        </>
      )}
      {report && (
        <Section title={t("shiftReport")} id="shift-report">
          <Table columns={["paymentMethod", "payments", "deposits", "refunds", "net"]}>
            {report.totals.map((total) => (
              <tr key={total.method}>
                <td>{methodName(total.method)}</td>
                <td>{money(total.payments)}</td>
                <td>{money(total.deposits)}</td>
                <td>{money(total.refunds)}</td>
                <td>{money(total.net)}</td>
              </tr>
            ))}
          </Table>
          <p>
            {t("expectedCash")} {money(report.expectedCash)} · {t("difference")}{" "}
            <strong data-testid="difference">{report.difference}</strong>
          </p>
        </Section>
      )}
    </>
  );
}
