// The staff directory (for those who may read it): a booking's surgeon, a privilege's holder.
import { useEffect, useState } from "preact/hooks";
import { client } from "./api";
import { AdminService, UserStatus, type User } from "./gen/openhmis/iam/v1/admin_pb";

/** The active people of the tenant, by name (empty unless `allowed`). */
export function useStaff(allowed: boolean): [User[], unknown] {
  const [staff, setStaff] = useState<User[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!allowed) return;
    client(AdminService)
      .listUsers({ pageSize: 500 })
      .then((answer) =>
        setStaff(
          answer.users
            .filter((user) => !user.serviceAccount && user.status === UserStatus.ACTIVE)
            .sort((a, b) => a.displayName.localeCompare(b.displayName)),
        ),
      )
      .catch(setError);
  }, [allowed]);
  return [staff, error];
}

/** A person's name, or the id's first characters when not in the directory. */
export function staffName(staff: readonly User[], id: string): string {
  return staff.find((user) => user.id === id)?.displayName ?? id.slice(0, 8);
}
