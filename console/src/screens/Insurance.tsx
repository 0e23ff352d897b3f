// A patient's insurance on the record, for the desks that record policies (billing.cover):
// the policies valid today and what is owed on earlier accounts, and a policy added with an
// insurer of the tenant's contracts (the registry checks it at registration and admission).
import { useEffect, useState } from "preact/hooks";
import { client, requestId } from "../api";
import {
  BillingService,
  type GetPatientStandingResponse,
  type InsuranceContract,
} from "../gen/openhmis/billing/v1/billing_pb";
import { formatMoney, t } from "../i18n";
import { ErrorMessage, Field, Pick, Section, useAttempt } from "../ui";

export function Insurance(props: { patientId: string }) {
  const [standing, setStanding] = useState<GetPatientStandingResponse | null>(null);
  const [contracts, setContracts] = useState<InsuranceContract[]>([]);
  const [contractId, setContractId] = useState("");
  const [policy, setPolicy] = useState("");
  const [from, setFrom] = useState(new Date().toISOString().slice(0, 10));
  const [error, attempt] = useAttempt();

  const load = async () => {
    const done = await attempt(() =>
      Promise.all([
        client(BillingService).getPatientStanding({ patientId: props.patientId }),
        client(BillingService).listInsuranceContracts({}),
      ]),
    );
    if (!done) return;
    setStanding(done.value[0]);
    setContracts(done.value[1].contracts);
    setContractId((chosen) => chosen || done.value[1].contracts[0]?.id || "");
  };
  useEffect(() => {
    load();
  }, [props.patientId]);

  const payer = (id: string) => contracts.find((contract) => contract.id === id)?.payerCode ?? "";

  return (
    <Section title={t("insurance")} id="insurance">
      <p data-testid="policies">
        {standing && standing.coverages.length === 0 && t("noInsurance")}
        {standing?.coverages.map((coverage) => `${payer(coverage.contractId)} ${coverage.policyNumber}`).join(", ")}
        {standing && Number(standing.debt) > 0 && ` · ${t("owes")} ${formatMoney(standing.debt)}`}
      </p>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const done = await attempt(() =>
            client(BillingService).addCoverage({
              requestId: requestId(),
              coverage: {
                patientId: props.patientId,
                contractId,
                policyNumber: policy,
                validFrom: from,
              },
            }),
          );
          if (done) {
            setPolicy("");
            await load();
          }
        }}
      >
        <div class="grid">
          <Pick
            label={t("insurer")}
            name="contract"
            value={contractId}
            options={contracts.map((contract) => ({ id: contract.id, name: contract.name }))}
            onChange={setContractId}
          />
          <Field label={t("policyNumber")} name="policy" value={policy} onInput={setPolicy} required />
          <Field label={t("from")} name="policy-from" type="date" value={from} onInput={setFrom} />
        </div>
        <ErrorMessage error={error} />
        <button type="submit">{t("addPolicy")}</button>
      </form>
    </Section>
  );
}
