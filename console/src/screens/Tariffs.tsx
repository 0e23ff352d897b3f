// Tariffs and insurers, the billing officer's set-up: price lists (their periods never
// overlap) and their tariffs (services by code system and code, bed-days by care level,
// supplies at cost plus a margin, packages with what they include), the wards' care levels,
// and the insurance contracts (coverage by service group, franchise, ceiling, DRG base rate).
import { useEffect, useState } from "preact/hooks";
import { client, requestId } from "../api";
import {
  BillingService,
  PayerKind,
  TariffKind,
  TariffUnit,
  type InsuranceContract,
  type PriceList,
  type Tariff,
} from "../gen/openhmis/billing/v1/billing_pb";
import { DepartmentKind } from "../gen/openhmis/core/v1/core_pb";
import { formatMoney, t, today, type Key } from "../i18n";
import { useDepartments } from "../places";
import { Choice, ErrorMessage, Field, Section, Table, useAttempt } from "../ui";

const KINDS: readonly (readonly [TariffKind, Key])[] = [
  [TariffKind.SERVICE, "tariffService"],
  [TariffKind.ACCOMMODATION, "tariffAccommodation"],
  [TariffKind.SUPPLY, "tariffSupply"],
  [TariffKind.PACKAGE, "tariffPackage"],
];

const UNITS: readonly (readonly [TariffUnit, Key])[] = [
  [TariffUnit.EACH, "unitEach"],
  [TariffUnit.DAY, "unitDay"],
  [TariffUnit.HOUR, "unitHour"],
];

const PAYERS: readonly (readonly [PayerKind, Key])[] = [
  [PayerKind.NATIONAL, "payerNational"],
  [PayerKind.SUPPLEMENTARY, "payerSupplementary"],
];

const WARDS = [DepartmentKind.WARD, DepartmentKind.INTENSIVE_CARE] as const;

function label<T>(options: readonly (readonly [T, Key])[], value: T): string {
  return t(options.find(([option]) => option === value)?.[1] ?? "unknown");
}

/** "surgery=90, medicines=50" as coverage lines. */
function coverage(text: string) {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [serviceGroup, percent] = part.split("=").map((side) => side.trim());
      return { serviceGroup: serviceGroup ?? "", percent: percent ?? "" };
    });
}

export function Tariffs() {
  const [error, attempt] = useAttempt();
  const [wards] = useDepartments(WARDS);
  const zone = wards[0]?.timeZone ?? "UTC";
  const [lists, setLists] = useState<PriceList[]>([]);
  const [chosen, setChosen] = useState<PriceList | null>(null);
  const [tariffs, setTariffs] = useState<Tariff[]>([]);
  const [contracts, setContracts] = useState<InsuranceContract[]>([]);
  // A new price list.
  const [listName, setListName] = useState("");
  const [currency, setCurrency] = useState("MDL");
  const [validFrom, setValidFrom] = useState("");
  // A tariff added or replaced.
  const [kind, setKind] = useState(TariffKind.SERVICE);
  const [system, setSystem] = useState("achi");
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  const [price, setPrice] = useState("");
  const [unit, setUnit] = useState(TariffUnit.EACH);
  const [margin, setMargin] = useState("");
  const [group, setGroup] = useState("");
  const [includes, setIncludes] = useState("");
  // A ward's care level.
  const [wardId, setWardId] = useState("");
  const [level, setLevel] = useState("");
  // A new contract.
  const [payer, setPayer] = useState("");
  const [payerName, setPayerName] = useState("");
  const [payerKind, setPayerKind] = useState(PayerKind.SUPPLEMENTARY);
  const [percent, setPercent] = useState("");
  const [groups, setGroups] = useState("");
  const [franchise, setFranchise] = useState("0");
  const [ceiling, setCeiling] = useState("");
  const [baseRate, setBaseRate] = useState("");

  async function load() {
    const done = await attempt(() =>
      Promise.all([client(BillingService).listPriceLists({}), client(BillingService).listInsuranceContracts({})]),
    );
    if (!done) return;
    setLists(done.value[0].priceLists);
    setContracts(done.value[1].contracts);
  }

  async function show(list: PriceList) {
    const done = await attempt(() => client(BillingService).listTariffs({ priceListId: list.id }));
    if (!done) return;
    setChosen(list);
    setTariffs(done.value.tariffs);
  }

  useEffect(() => {
    load();
  }, []);
  useEffect(() => {
    if (!validFrom && wards[0]) setValidFrom(today(zone));
    if (!wardId && wards[0]) setWardId(wards[0].id);
  }, [wards]);

  return (
    <>
      <h1>{t("tariffsAndInsurers")}</h1>
      <ErrorMessage error={error} />
      <Section title={t("priceLists")} id="price-lists">
        <Table columns={["name", "currency", "from", "to", "actions"]}>
          {lists.map((list) => (
            <tr key={list.id}>
              <th scope="row">{list.name}</th>
              <td>{list.currency}</td>
              <td>{list.validFrom}</td>
              <td>{list.validUntil || "—"}</td>
              <td>
                <button type="button" class="secondary" aria-label={`${t("showTariffs")}: ${list.name}`} onClick={() => show(list)}>
                  {t("showTariffs")}
                </button>
              </td>
            </tr>
          ))}
        </Table>
        <form
          aria-label={t("newPriceList")}
          onSubmit={async (event) => {
            event.preventDefault();
            const done = await attempt(() =>
              client(BillingService).createPriceList({ requestId: requestId(), name: listName, currency, validFrom, validUntil: "" }),
            );
            if (done) await load();
          }}
        >
          <div class="grid">
            <Field label={t("name")} name="price-list-name" value={listName} onInput={setListName} required />
            <Field label={t("currency")} name="currency" value={currency} onInput={setCurrency} required />
            <Field label={t("from")} name="valid-from" type="date" value={validFrom} onInput={setValidFrom} required />
          </div>
          <button type="submit">{t("newPriceList")}</button>
        </form>
      </Section>
      {chosen && (
        <Section title={`${t("tariffs")}: ${chosen.name}`} id="tariffs">
          <Table columns={["tariffKind", "code", "name", "price", "serviceGroup", "includes"]}>
            {tariffs.map((tariff) => (
              <tr key={`${tariff.kind}:${tariff.codeSystem}:${tariff.code}`}>
                <td>{label(KINDS, tariff.kind)}</td>
                <td>{tariff.codeSystem ? `${tariff.codeSystem} ${tariff.code}` : tariff.code}</td>
                <th scope="row">{tariff.name}</th>
                <td>
                  {tariff.price ? `${formatMoney(tariff.price)} / ${label(UNITS, tariff.unit)}` : `+${tariff.marginPercent}%`}
                </td>
                <td>{tariff.serviceGroup}</td>
                <td>{tariff.includes.join(", ")}</td>
              </tr>
            ))}
          </Table>
          <form
            aria-label={t("setTariff")}
            onSubmit={async (event) => {
              event.preventDefault();
              const done = await attempt(() =>
                client(BillingService).setTariffs({
                  requestId: requestId(),
                  priceListId: chosen.id,
                  tariffs: [
                    {
                      kind,
                      codeSystem: kind === TariffKind.SERVICE ? system : "",
                      code,
                      name,
                      price: kind === TariffKind.SUPPLY ? "" : price,
                      unit,
                      marginPercent: kind === TariffKind.SUPPLY ? margin : "",
                      serviceGroup: group,
                      includes:
                        kind === TariffKind.PACKAGE
                          ? includes
                              .split(",")
                              .map((item) => item.trim())
                              .filter(Boolean)
                          : [],
                    },
                  ],
                }),
              );
              if (done) await show(chosen);
            }}
          >
            <div class="grid">
              <Choice label={t("tariffKind")} name="tariff-kind" value={kind} options={KINDS} onChange={setKind} />
              <Field label={t("codeSystem")} name="code-system" value={system} onInput={setSystem} hint={t("codeSystemHint")} />
              <Field label={t("code")} name="tariff-code" value={code} onInput={setCode} required />
              <Field label={t("name")} name="tariff-name" value={name} onInput={setName} required />
            </div>
            <div class="grid">
              <Field label={t("price")} name="tariff-price" value={price} onInput={setPrice} inputMode="numeric" />
              <Choice label={t("unit")} name="tariff-unit" value={unit} options={UNITS} onChange={setUnit} />
              <Field label={t("marginPercent")} name="margin" value={margin} onInput={setMargin} inputMode="numeric" />
              <Field label={t("serviceGroup")} name="service-group" value={group} onInput={setGroup} required />
            </div>
            <Field label={t("includes")} name="includes" value={includes} onInput={setIncludes} hint={t("includesHint")} />
            <button type="submit">{t("setTariff")}</button>
          </form>
        </Section>
      )}
      <Section title={t("careLevels")} id="care-levels">
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            await attempt(() =>
              client(BillingService).setWardCareLevel({ requestId: requestId(), departmentId: wardId, careLevel: level }),
            );
          }}
        >
          <div class="grid">
            <label>
              {t("ward")}
              <select name="care-level-ward" value={wardId} onChange={(event) => setWardId(event.currentTarget.value)}>
                {wards.map((ward) => (
                  <option key={ward.id} value={ward.id}>
                    {ward.name}
                  </option>
                ))}
              </select>
            </label>
            <Field label={t("careLevel")} name="care-level" value={level} onInput={setLevel} required hint={t("careLevelHint")} />
          </div>
          <button type="submit">{t("setCareLevel")}</button>
        </form>
      </Section>
      <Section title={t("insuranceContracts")} id="contracts">
        <Table columns={["payer", "name", "payerKind", "coveredPercent", "franchise", "ceiling", "drgBaseRate"]}>
          {contracts.map((contract) => (
            <tr key={contract.id}>
              <th scope="row">{contract.payerCode}</th>
              <td>{contract.name}</td>
              <td>{label(PAYERS, contract.kind)}</td>
              <td>
                {contract.defaultPercent}%
                {contract.coverage.map((line) => `, ${line.serviceGroup} ${line.percent}%`).join("")}
              </td>
              <td>{formatMoney(contract.franchise)}</td>
              <td>{contract.ceiling ? formatMoney(contract.ceiling) : "—"}</td>
              <td>{contract.drgBaseRate ? formatMoney(contract.drgBaseRate) : "—"}</td>
            </tr>
          ))}
        </Table>
        <form
          aria-label={t("newContract")}
          onSubmit={async (event) => {
            event.preventDefault();
            const done = await attempt(() =>
              client(BillingService).createInsuranceContract({
                requestId: requestId(),
                contract: {
                  payerCode: payer,
                  name: payerName,
                  kind: payerKind,
                  defaultPercent: percent,
                  coverage: coverage(groups),
                  franchise,
                  ceiling,
                  drgBaseRate: baseRate,
                },
              }),
            );
            if (done) await load();
          }}
        >
          <div class="grid">
            <Field label={t("payer")} name="payer-code" value={payer} onInput={setPayer} required />
            <Field label={t("name")} name="payer-name" value={payerName} onInput={setPayerName} required />
            <Choice label={t("payerKind")} name="payer-kind" value={payerKind} options={PAYERS} onChange={setPayerKind} />
            <Field label={t("coveredPercent")} name="covered-percent" value={percent} onInput={setPercent} inputMode="numeric" required />
          </div>
          <div class="grid">
            <Field label={t("coverageByGroup")} name="coverage-by-group" value={groups} onInput={setGroups} hint={t("coverageByGroupHint")} />
            <Field label={t("franchise")} name="franchise" value={franchise} onInput={setFranchise} inputMode="numeric" />
            <Field label={t("ceiling")} name="ceiling" value={ceiling} onInput={setCeiling} inputMode="numeric" />
            <Field label={t("drgBaseRate")} name="drg-base-rate" value={baseRate} onInput={setBaseRate} inputMode="numeric" />
          </div>
          <button type="submit">{t("newContract")}</button>
        </form>
      </Section>
    </>
  );
}
