// The laboratory: the bench's worklist of a facility (most urgent first), specimens received or
// rejected by their scanned accession number, results entered and validated technically then
// medically; and the ward's view: its orders to collect (with the tube labels to print) and
// the critical values told to it until a nurse or physician acknowledges them.
import { useEffect, useState } from "preact/hooks";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { client, holds, requestId, type Session } from "../api";
import { FacilityService, type Facility } from "../gen/openhmis/core/v1/core_pb";
import {
  Flag,
  LaboratoryService,
  OrderStatus,
  Priority,
  RejectionReason,
  ResultStatus,
  SpecimenStatus,
  ValidationStage,
  type CriticalAlert,
  type Order,
  type Section as LabSection,
  type Specimen,
} from "../gen/openhmis/laboratory/v1/laboratory_pb";
import { formatTime, t, type Key } from "../i18n";
import { patientName, usePatients } from "../patients";
import { useWards } from "../places";
import { Choice, ErrorMessage, Field, Pick, Section, Table, useAttempt } from "../ui";

const STATUS: Record<OrderStatus, Key> = {
  [OrderStatus.UNSPECIFIED]: "unknown",
  [OrderStatus.ORDERED]: "labOrdered",
  [OrderStatus.COLLECTED]: "labCollected",
  [OrderStatus.RECEIVED]: "labReceived",
  [OrderStatus.IN_PROGRESS]: "labInProgress",
  [OrderStatus.PRELIMINARY]: "labPreliminary",
  [OrderStatus.FINAL]: "labFinal",
  [OrderStatus.CANCELLED]: "labCancelled",
};

const PRIORITY: Record<Priority, Key> = {
  [Priority.UNSPECIFIED]: "unknown",
  [Priority.ROUTINE]: "routine",
  [Priority.URGENT]: "urgent",
  [Priority.EMERGENCY]: "emergency",
};

const SPECIMEN: Record<SpecimenStatus, Key> = {
  [SpecimenStatus.UNSPECIFIED]: "unknown",
  [SpecimenStatus.COLLECTED]: "labCollected",
  [SpecimenStatus.RECEIVED]: "labReceived",
  [SpecimenStatus.REJECTED]: "labRejected",
};

const RESULT: Record<ResultStatus, Key> = {
  [ResultStatus.UNSPECIFIED]: "unknown",
  [ResultStatus.ENTERED]: "resultEntered",
  [ResultStatus.PRELIMINARY]: "labPreliminary",
  [ResultStatus.FINAL]: "labFinal",
  [ResultStatus.SUPERSEDED]: "resultSuperseded",
};

const FLAG: Record<Flag, Key | ""> = {
  [Flag.UNSPECIFIED]: "",
  [Flag.NORMAL]: "",
  [Flag.LOW]: "flagLow",
  [Flag.HIGH]: "flagHigh",
  [Flag.CRITICAL_LOW]: "flagCriticalLow",
  [Flag.CRITICAL_HIGH]: "flagCriticalHigh",
  [Flag.ABNORMAL]: "flagAbnormal",
};

const REASONS: readonly (readonly [RejectionReason, Key])[] = [
  [RejectionReason.HAEMOLYSED, "haemolysed"],
  [RejectionReason.INSUFFICIENT, "insufficient"],
  [RejectionReason.CLOTTED, "clotted"],
  [RejectionReason.WRONG_CONTAINER, "wrongContainer"],
  [RejectionReason.UNLABELLED, "unlabelled"],
  [RejectionReason.DELAYED, "delayed"],
];

function flagText(flag: Flag): string {
  const key = FLAG[flag];
  return key ? t(key) : "";
}

/** A printable label: the server's SVG shown as an image the browser prints. */
function Label(props: { accession: string }) {
  const [svg, setSvg] = useState("");
  useEffect(() => {
    client(LaboratoryService)
      .getSpecimenLabel({ accession: props.accession })
      .then((answer) => setSvg(answer.svg))
      .catch(() => setSvg(""));
  }, [props.accession]);
  if (!svg) return null;
  return (
    <img
      class="label"
      alt={`${t("specimenLabel")} ${props.accession}`}
      src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`}
    />
  );
}

function Specimens(props: { specimens: readonly Specimen[] }) {
  return (
    <Table columns={["accession", "tube", "tests", "status"]}>
      {props.specimens.map((specimen) => (
        <tr key={specimen.id}>
          <th scope="row">{specimen.accession}</th>
          <td>
            {specimen.specimenType} · {specimen.container}
          </td>
          <td>{specimen.testCodes.join(", ")}</td>
          <td>
            {t(SPECIMEN[specimen.status])}
            {specimen.status === SpecimenStatus.REJECTED &&
              ` (${t(REASONS.find(([reason]) => reason === specimen.rejectionReason)?.[1] ?? "unknown")})`}
          </td>
        </tr>
      ))}
    </Table>
  );
}

/** The laboratory bench. */
export function Laboratory(props: { session: Session }) {
  const [error, attempt] = useAttempt();
  const [facilities, setFacilities] = useState<Facility[]>([]);
  const [facilityId, setFacilityId] = useState("");
  const [sections, setSections] = useState<LabSection[]>([]);
  const [section, setSection] = useState("");
  const [orders, setOrders] = useState<Order[]>([]);
  const [selected, setSelected] = useState<Order | null>(null);
  const [accession, setAccession] = useState("");
  const [reason, setReason] = useState(RejectionReason.HAEMOLYSED);
  const [note, setNote] = useState("");
  const [values, setValues] = useState<Record<string, string>>({});
  const [done, setDone] = useState("");
  const patients = usePatients(orders.map((order) => order.patientId));
  const facility = facilityId || facilities[0]?.id || "";
  const zone = facilities.find((candidate) => candidate.id === facility)?.timeZone ?? "UTC";

  useEffect(() => {
    void attempt(async () => {
      const [found, listed] = await Promise.all([
        client(FacilityService).listFacilities({ pageSize: 100 }),
        client(LaboratoryService).listSections({}),
      ]);
      setFacilities(found.facilities);
      setSections(listed.sections);
    });
  }, []);

  async function list() {
    if (!facility) return;
    const answer = await attempt(() =>
      client(LaboratoryService).listWorklist({ facilityId: facility, sectionCode: section }),
    );
    if (answer) setOrders(answer.value.orders);
  }

  useEffect(() => {
    void list();
  }, [facility, section]);

  function show(order: Order | undefined) {
    if (!order) return;
    setSelected(order);
    setOrders((current) => current.map((candidate) => (candidate.id === order.id ? order : candidate)));
  }

  async function receive() {
    const answer = await attempt(() =>
      client(LaboratoryService).receiveSpecimen({ requestId: requestId(), accession: accession.trim() }),
    );
    if (answer) {
      show(answer.value.order);
      setDone(`${t("specimenReceived")}: ${accession.trim()}`);
      setAccession("");
    }
  }

  async function reject() {
    const answer = await attempt(() =>
      client(LaboratoryService).rejectSpecimen({
        requestId: requestId(),
        accession: accession.trim(),
        reason,
        note,
      }),
    );
    if (answer) {
      show(answer.value.order);
      setDone(`${t("specimenRejected")}: ${accession.trim()}`);
      setAccession("");
      setNote("");
    }
  }

  async function record(order: Order) {
    const results = order.tests
      .map((test) => ({ testCode: test.code, value: (values[test.code] ?? "").trim(), unit: "" }))
      .filter((entry) => entry.value);
    const answer = await attempt(() =>
      client(LaboratoryService).recordResults({ requestId: requestId(), orderId: order.id, results }),
    );
    if (answer) {
      show(answer.value.order);
      setValues({});
    }
  }

  async function validate(order: Order, stage: ValidationStage) {
    const answer = await attempt(() =>
      client(LaboratoryService).validateResults({ requestId: requestId(), orderId: order.id, stage, testCodes: [] }),
    );
    if (answer) show(answer.value.order);
  }

  const current = selected ? orders.find((order) => order.id === selected.id) ?? selected : null;
  const canValidate = holds(props.session, "laboratory.validate");

  return (
    <>
      <Section title={t("labBench")} id="laboratory">
        <div class="grid">
          <Pick
            label={t("facility")}
            name="facility"
            value={facility}
            options={facilities.map((candidate) => ({ id: candidate.id, name: candidate.name }))}
            onChange={setFacilityId}
          />
          <Pick
            label={t("labSection")}
            name="section"
            value={section}
            options={[{ id: "", name: t("everySection") }, ...sections.map((s) => ({ id: s.code, name: s.name }))]}
            onChange={setSection}
          />
        </div>
        <div class="grid">
          <Field label={t("accession")} name="accession" value={accession} onInput={setAccession} inputMode="numeric" />
          <Choice label={t("specimenRejectionReason")} name="rejection" value={reason} options={REASONS} onChange={setReason} />
          <Field label={t("note")} name="rejection-note" value={note} onInput={setNote} />
        </div>
        <div role="group">
          <button type="button" disabled={!accession.trim()} onClick={receive}>
            {t("receiveSpecimen")}
          </button>
          <button type="button" class="secondary" disabled={!accession.trim()} onClick={reject}>
            {t("rejectSpecimen")}
          </button>
          <button type="button" class="secondary" onClick={list}>
            {t("refresh")}
          </button>
        </div>
        {done && <p role="status">{done}</p>}
        <ErrorMessage error={error} />
        <Table columns={["ordered", "priority", "patient", "tests", "status", "actions"]} caption={t("worklist")}>
          {orders.map((order) => (
            <tr key={order.id}>
              <td>{order.orderTime ? formatTime(timestampMs(order.orderTime), zone) : ""}</td>
              <td>{t(PRIORITY[order.priority])}</td>
              <th scope="row">{patientName(patients, order.patientId)}</th>
              <td>{order.tests.map((test) => `${test.name} (${t(STATUS[test.status])})`).join(", ")}</td>
              <td>{t(STATUS[order.status])}</td>
              <td>
                <button
                  type="button"
                  class="secondary"
                  aria-label={`${t("open")}: ${patientName(patients, order.patientId)}`}
                  onClick={() => setSelected(order)}
                >
                  {t("open")}
                </button>
              </td>
            </tr>
          ))}
        </Table>
        {orders.length === 0 && <p>{t("noOrders")}</p>}
      </Section>
      {current && (
        <Section title={`${t("labOrder")}: ${patientName(patients, current.patientId)}`} id="lab-order">
          <p>
            {t(PRIORITY[current.priority])} · {t(STATUS[current.status])} · {current.reason}
          </p>
          <Specimens specimens={current.specimens} />
          <Table columns={["test", "result", "flag", "referenceRange", "status", "enterValue"]}>
            {current.tests.map((test) => {
              const result = current.results.find((candidate) => candidate.testCode === test.code);
              return (
                <tr key={test.code}>
                  <th scope="row">
                    {test.name} <small>{test.code}</small>
                  </th>
                  <td>{result ? `${result.value} ${result.unit}` : ""}</td>
                  <td class={result && (result.flag === Flag.CRITICAL_HIGH || result.flag === Flag.CRITICAL_LOW) ? "error" : ""}>
                    {result ? flagText(result.flag) : ""}
                  </td>
                  <td>{result?.referenceRange ?? ""}</td>
                  <td>{result ? t(RESULT[result.status]) : t(STATUS[test.status])}</td>
                  <td>
                    {result?.status !== ResultStatus.FINAL && (
                      <input
                        name={`value-${test.code}`}
                        aria-label={`${t("enterValue")}: ${test.name}`}
                        value={values[test.code] ?? ""}
                        onInput={(event) =>
                          setValues({ ...values, [test.code]: (event.target as HTMLInputElement).value })
                        }
                      />
                    )}
                  </td>
                </tr>
              );
            })}
          </Table>
          <div role="group">
            <button type="button" disabled={!Object.values(values).some((value) => value.trim())} onClick={() => record(current)}>
              {t("recordResults")}
            </button>
            <button type="button" class="secondary" onClick={() => validate(current, ValidationStage.TECHNICAL)}>
              {t("technicalValidation")}
            </button>
            {canValidate && (
              <button type="button" class="secondary" onClick={() => validate(current, ValidationStage.MEDICAL)}>
                {t("medicalValidation")}
              </button>
            )}
          </div>
        </Section>
      )}
    </>
  );
}

/** The ward's laboratory: orders to collect, with their labels, and critical values. */
export function WardLaboratory() {
  const [wards, wardsError] = useWards();
  const [wardId, setWardId] = useState("");
  const ward = wards.find((candidate) => candidate.id === wardId) ?? wards[0];
  const [error, attempt] = useAttempt();
  const [orders, setOrders] = useState<Order[]>([]);
  const [alerts, setAlerts] = useState<CriticalAlert[]>([]);
  const [labels, setLabels] = useState<string[]>([]);
  const [note, setNote] = useState("");
  const patients = usePatients([...orders.map((order) => order.patientId), ...alerts.map((alert) => alert.patientId)]);

  async function list() {
    if (!ward) return;
    const answer = await attempt(() =>
      Promise.all([
        client(LaboratoryService).listWorklist({ facilityId: ward.facilityId, departmentId: ward.id }),
        client(LaboratoryService).listCriticalAlerts({
          facilityId: ward.facilityId,
          departmentId: ward.id,
          unacknowledgedOnly: true,
        }),
      ]),
    );
    if (answer) {
      setOrders(answer.value[0].orders);
      setAlerts(answer.value[1].alerts);
    }
  }

  useEffect(() => {
    void list();
  }, [ward?.id]);

  async function collect(order: Order) {
    const answer = await attempt(() =>
      client(LaboratoryService).collectSpecimens({ requestId: requestId(), orderId: order.id }),
    );
    if (answer) {
      setLabels(answer.value.collected.map((specimen) => specimen.accession));
      await list();
    }
  }

  async function acknowledge(alert: CriticalAlert) {
    const answer = await attempt(() =>
      client(LaboratoryService).acknowledgeCriticalAlert({ requestId: requestId(), alertId: alert.id, note }),
    );
    if (answer) {
      setNote("");
      await list();
    }
  }

  return (
    <>
      <Section title={t("criticalValues")} id="critical-values">
        <Pick
          label={t("ward")}
          name="ward"
          value={ward?.id ?? ""}
          options={wards.map((candidate) => ({ id: candidate.id, name: candidate.name }))}
          onChange={setWardId}
        />
        <ErrorMessage error={wardsError || error} />
        {alerts.length === 0 ? (
          <p>{t("noCriticalValues")}</p>
        ) : (
          <>
            <Field label={t("acknowledgmentNote")} name="acknowledgment-note" value={note} onInput={setNote} />
            <Table columns={["patient", "test", "result", "flag", "raised", "actions"]}>
              {alerts.map((alert) => (
                <tr key={alert.id} class="alert">
                  <th scope="row">{patientName(patients, alert.patientId)}</th>
                  <td>{alert.testName}</td>
                  <td>
                    {alert.value} {alert.unit}
                  </td>
                  <td class="error">{flagText(alert.flag)}</td>
                  <td>{alert.raiseTime && ward ? formatTime(timestampMs(alert.raiseTime), ward.timeZone) : ""}</td>
                  <td>
                    <button
                      type="button"
                      aria-label={`${t("acknowledge")}: ${alert.testName} ${patientName(patients, alert.patientId)}`}
                      onClick={() => acknowledge(alert)}
                    >
                      {t("acknowledge")}
                    </button>
                  </td>
                </tr>
              ))}
            </Table>
          </>
        )}
      </Section>
      <Section title={t("wardLabOrders")} id="ward-lab-orders">
        <button type="button" class="secondary" onClick={list}>
          {t("refresh")}
        </button>
        <Table columns={["ordered", "priority", "patient", "tests", "status", "actions"]}>
          {orders.map((order) => (
            <tr key={order.id}>
              <td>{order.orderTime && ward ? formatTime(timestampMs(order.orderTime), ward.timeZone) : ""}</td>
              <td>{t(PRIORITY[order.priority])}</td>
              <th scope="row">{patientName(patients, order.patientId)}</th>
              <td>{order.tests.map((test) => `${test.name} (${t(STATUS[test.status])})`).join(", ")}</td>
              <td>{t(STATUS[order.status])}</td>
              <td>
                {order.tests.some((test) => test.status === OrderStatus.ORDERED) && (
                  <button
                    type="button"
                    aria-label={`${t("collect")}: ${patientName(patients, order.patientId)}`}
                    onClick={() => collect(order)}
                  >
                    {t("collect")}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </Table>
        {orders.length === 0 && <p>{t("noOrders")}</p>}
        {labels.length > 0 && (
          <div aria-label={t("specimenLabels")} role="region">
            {labels.map((accession) => (
              <Label key={accession} accession={accession} />
            ))}
          </div>
        )}
      </Section>
    </>
  );
}
