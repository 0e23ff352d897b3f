// The patients a screen lists by id (a ward board, a round, the emergency board), each read
// once from the registry and remembered for the page's life.
import { useEffect, useState } from "preact/hooks";
import { client } from "./api";
import { PatientService, type Patient } from "./gen/openhmis/patients/v1/patients_pb";

const known = new Map<string, Patient | null>();

/** The patients of `ids` read so far (a missing one is read; one that cannot be, is absent). */
export function usePatients(ids: readonly string[]): Map<string, Patient | null> {
  const [, setVersion] = useState(0);
  const key = [...new Set(ids)].sort().join(",");
  useEffect(() => {
    const missing = key.split(",").filter((id) => id && !known.has(id));
    if (missing.length === 0) return;
    let live = true;
    Promise.all(
      missing.map(async (id) => {
        try {
          known.set(id, (await client(PatientService).getPatient({ id })).patient ?? null);
        } catch {
          known.set(id, null);
        }
      }),
    ).then(() => live && setVersion((version) => version + 1));
    return () => {
      live = false;
    };
  }, [key]);
  return known;
}

/** "Family Given", or the id's first characters when the patient could not be read. */
export function patientName(patients: Map<string, Patient | null>, id: string): string {
  const patient = patients.get(id);
  if (patient) return `${patient.familyName} ${patient.givenNames}`;
  return patients.has(id) ? id.slice(0, 8) : "";
}
