// The places screens work in: the departments of every facility the caller may read, with
// the facility's time zone (dates and times are shown in it).
import { useEffect, useState } from "preact/hooks";
import { client } from "./api";
import { DepartmentKind, FacilityService, type Department } from "./gen/openhmis/core/v1/core_pb";

export interface Place extends Department {
  timeZone: string;
}

/** The active departments of `kinds` in every facility, by name. */
export function useDepartments(kinds: readonly DepartmentKind[]): [Place[], unknown] {
  const [places, setPlaces] = useState<Place[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    (async () => {
      const facilities = client(FacilityService);
      const { facilities: found } = await facilities.listFacilities({ pageSize: 100 });
      const all: Place[] = [];
      for (const facility of found) {
        for (const kind of kinds) {
          const { departments } = await facilities.listDepartments({ facilityId: facility.id, kind, pageSize: 200 });
          all.push(...departments.filter((d) => d.active).map((d) => ({ ...d, timeZone: facility.timeZone })));
        }
      }
      all.sort((a, b) => a.name.localeCompare(b.name));
      setPlaces(all);
    })().catch(setError);
  }, [kinds.join(",")]);
  return [places, error];
}

const WARDS = [DepartmentKind.WARD, DepartmentKind.INTENSIVE_CARE] as const;

/** Every ward and intensive care unit. */
export function useWards(): [Place[], unknown] {
  return useDepartments(WARDS);
}
