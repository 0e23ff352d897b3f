// The claims worklist: the DRG cases discharged in a period with a claim status (or all), and
// each claim moved along the national insurer's answers: prepared → sent → accepted or
// rejected with a reason → prepared again. A move is made from the case as it was read (its
// etag): another officer's move in between is refused and the list read again.
import { useState } from "preact/hooks";
import { client, requestId } from "../api";
import { BillingService, ClaimStatus, type DrgCase } from "../gen/openhmis/billing/v1/billing_pb";
import { formatMoney, t, type Key } from "../i18n";
import { Choice, ErrorMessage, Field, Section, Table, useAttempt } from "../ui";

const STATUSES: readonly (readonly [ClaimStatus, Key])[] = [
  [ClaimStatus.UNSPECIFIED, "everyStatus"],
  [ClaimStatus.PREPARED, "claimPrepared"],
  [ClaimStatus.SENT, "claimSent"],
  [ClaimStatus.ACCEPTED, "claimAccepted"],
  [ClaimStatus.REJECTED, "claimRejected"],
  [ClaimStatus.PAID, "claimPaid"],
  [ClaimStatus.VOID, "claimVoid"],
  [ClaimStatus.NOT_INSURED, "claimNotInsured"],
];

/** The moves a claim in `status` may make, with their button's text. */
function moves(status: ClaimStatus): (readonly [ClaimStatus, Key])[] {
  switch (status) {
    case ClaimStatus.PREPARED:
      return [[ClaimStatus.SENT, "sendClaim"]];
    case ClaimStatus.SENT:
      return [
        [ClaimStatus.ACCEPTED, "claimAccepted"],
        [ClaimStatus.REJECTED, "claimRejected"],
      ];
    case ClaimStatus.REJECTED:
      return [[ClaimStatus.PREPARED, "prepareAgain"]];
    default:
      return [];
  }
}

export function Claims(props: { facilityId: string; from: string; to: string }) {
  const [error, attempt] = useAttempt();
  const [status, setStatus] = useState(ClaimStatus.PREPARED);
  const [cases, setCases] = useState<DrgCase[] | null>(null);
  const [reason, setReason] = useState("");

  async function list() {
    const done = await attempt(() =>
      client(BillingService).listDrgCases({
        facilityId: props.facilityId,
        fromDate: props.from,
        toDate: props.to,
        claimStatus: status,
      }),
    );
    if (done) setCases(done.value.drgCases);
  }

  async function move(drgCase: DrgCase, to: ClaimStatus) {
    const done = await attempt(() =>
      client(BillingService).updateClaim({
        requestId: requestId(),
        admissionId: drgCase.admissionId,
        status: to,
        rejectionReasons: to === ClaimStatus.REJECTED ? [reason] : [],
        etag: drgCase.etag,
      }),
    );
    if (done) await list();
  }

  return (
    <Section title={t("claims")} id="claims">
      <div class="grid">
        <Choice label={t("claimStatus")} name="claim-status" value={status} options={STATUSES} onChange={setStatus} />
        <Field label={t("rejectionReason")} name="rejection-reason" value={reason} onInput={setReason} />
      </div>
      <button type="button" class="secondary" disabled={!props.facilityId} onClick={list}>
        {t("listClaims")}
      </button>
      <ErrorMessage error={error} />
      {cases && (
        <Table columns={["drg", "caseWeight", "claimed", "claimStatus", "actions"]}>
          {cases.map((drgCase) => (
            <tr key={drgCase.admissionId}>
              <th scope="row">
                {drgCase.drg} {drgCase.title}
              </th>
              <td>{drgCase.caseWeight}</td>
              <td>{drgCase.claimAmount ? formatMoney(drgCase.claimAmount) : ""}</td>
              <td>
                {t(STATUSES.find(([value]) => value === drgCase.claimStatus)?.[1] ?? "unknown")}
                {drgCase.rejectionReasons.length > 0 && ` (${drgCase.rejectionReasons.join("; ")})`}
              </td>
              <td>
                {moves(drgCase.claimStatus).map(([to, label]) => (
                  <button
                    type="button"
                    class="secondary"
                    key={to}
                    aria-label={`${t(label)}: DRG ${drgCase.drg}`}
                    disabled={to === ClaimStatus.REJECTED && !reason.trim()}
                    onClick={() => move(drgCase, to)}
                  >
                    {t(label)}
                  </button>
                ))}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </Section>
  );
}
