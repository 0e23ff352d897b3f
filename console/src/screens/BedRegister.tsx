// The bed register's set-up for hospital IT: a new ward of a facility with its rooms and beds
// made in one step (each through the register's own calls), and the wards there are.
import { useEffect, useState } from "preact/hooks";
import { client, requestId } from "../api";
import { BedSex, DepartmentKind, FacilityService, type Facility } from "../gen/openhmis/core/v1/core_pb";
import { t } from "../i18n";
import { useWards } from "../places";
import { ErrorMessage, Field, Pick, Section } from "../ui";

export function BedRegister() {
  const [facilities, setFacilities] = useState<Facility[]>([]);
  const [facilityId, setFacilityId] = useState("");
  const [wards] = useWards();
  const [name, setName] = useState("");
  const [code, setCode] = useState("");
  const [rooms, setRooms] = useState("10");
  const [beds, setBeds] = useState("4");
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState("");
  const [busy, setBusy] = useState(false);
  const facility = facilities.find((candidate) => candidate.id === facilityId) ?? facilities[0];

  useEffect(() => {
    client(FacilityService)
      .listFacilities({ pageSize: 100 })
      .then((answer) => setFacilities(answer.facilities))
      .catch(setError);
  }, []);

  async function create(event: Event) {
    event.preventDefault();
    if (!facility) return;
    setBusy(true);
    setError(null);
    setCreated("");
    try {
      const register = client(FacilityService);
      const wardCode = code.trim().toUpperCase();
      const { department } = await register.createDepartment({
        requestId: requestId(),
        department: { facilityId: facility.id, code: wardCode, name: name.trim(), kind: DepartmentKind.WARD },
      });
      if (!department) throw new Error("the register answered without the ward");
      for (let number = 1; number <= (Number(rooms) || 0); number += 1) {
        const roomCode = `${wardCode}-${String(number).padStart(2, "0")}`;
        const { room } = await register.createRoom({
          requestId: requestId(),
          room: { departmentId: department.id, code: roomCode, name: `${t("room")} ${number}` },
        });
        if (!room) throw new Error("the register answered without the room");
        for (let bed = 1; bed <= (Number(beds) || 0); bed += 1) {
          await register.createBed({
            requestId: requestId(),
            bed: { roomId: room.id, code: String(bed), sex: BedSex.ANY },
          });
        }
      }
      setCreated(department.name);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Section title={t("wardsAndBeds")} id="wards-and-beds">
      <ul>
        {wards.map((ward) => (
          <li key={ward.id}>
            {ward.name} <small>({ward.code})</small>
          </li>
        ))}
      </ul>
      <form onSubmit={create} aria-labelledby="new-ward-title">
        <h3 id="new-ward-title">{t("newWard")}</h3>
        <div class="grid">
          <Pick label={t("facility")} name="ward_facility" value={facility?.id ?? ""} options={facilities} onChange={setFacilityId} />
          <Field label={t("wardName")} name="ward_name" value={name} onInput={setName} required />
          <Field label={t("wardCode")} name="ward_code" value={code} onInput={setCode} required />
        </div>
        <div class="grid">
          <Field label={t("rooms")} name="rooms" value={rooms} onInput={setRooms} inputMode="numeric" />
          <Field label={t("bedsPerRoom")} name="beds_per_room" value={beds} onInput={setBeds} inputMode="numeric" />
        </div>
        <ErrorMessage error={error} />
        <button type="submit" aria-busy={busy}>
          {t("createWard")}
        </button>
        {created && (
          <p role="status">
            {t("wardCreated")}: {created}
          </p>
        )}
      </form>
    </Section>
  );
}
