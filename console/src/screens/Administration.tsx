// Administration: the institution's accounts (create, disable, enable), the roles each holds
// and where (the whole institution, a facility or a department, optionally until a date),
// service accounts for batch jobs (the secret shown once), and the roles with their
// permissions.
import { useEffect, useState } from "preact/hooks";
import { timestampFromDate, timestampMs } from "@bufbuild/protobuf/wkt";
import { client, requestId } from "../api";
import { FacilityService, type Facility } from "../gen/openhmis/core/v1/core_pb";
import { AdminService, UserStatus, type Assignment, type Role, type User } from "../gen/openhmis/iam/v1/admin_pb";
import { formatTime, t } from "../i18n";
import { useDepartments } from "../places";
import { DepartmentKind } from "../gen/openhmis/core/v1/core_pb";
import { ErrorMessage, Field, Pick, Section, Table, useAttempt } from "../ui";
import { BedRegister } from "./BedRegister";

const ALL_KINDS = [
  DepartmentKind.WARD,
  DepartmentKind.INTENSIVE_CARE,
  DepartmentKind.EMERGENCY,
  DepartmentKind.OUTPATIENT,
  DepartmentKind.OPERATING_BLOCK,
  DepartmentKind.PHARMACY,
  DepartmentKind.LABORATORY,
  DepartmentKind.IMAGING,
  DepartmentKind.ADMINISTRATIVE,
] as const;

function Assignments(props: { user: User; roles: Role[]; scopes: { id: string; name: string }[] }) {
  const [assignments, setAssignments] = useState<Assignment[]>([]);
  const [roleCode, setRoleCode] = useState("");
  const [scope, setScope] = useState("tenant");
  const [until, setUntil] = useState("");
  const [error, attempt, setError] = useAttempt();
  const [generation, setGeneration] = useState(0);
  const scopeName = (value: string) => props.scopes.find((candidate) => candidate.id === value)?.name ?? value;

  useEffect(() => {
    client(AdminService)
      .listAssignments({ userId: props.user.id })
      .then((answer) => setAssignments(answer.assignments))
      .catch(setError);
  }, [props.user.id, generation]);

  const act = async (action: () => Promise<unknown>) => {
    if (await attempt(action)) setGeneration(generation + 1);
  };

  return (
    <Section title={`${t("assignments")}: ${props.user.displayName || props.user.username}`} id="assignments">
      <ErrorMessage error={error} />
      <Table columns={["roles", "scope", "validUntil", "actions"]}>
        {assignments.map((assignment) => (
          <tr key={assignment.id}>
            <td>{props.roles.find((role) => role.code === assignment.roleCode)?.name ?? assignment.roleCode}</td>
            <td>{scopeName(assignment.scope)}</td>
            <td>{assignment.validUntil ? formatTime(timestampMs(assignment.validUntil)) : ""}</td>
            <td>
              <button
                type="button"
                class="outline"
                aria-label={`${t("revoke")}: ${assignment.roleCode}`}
                onClick={() => act(() => client(AdminService).revokeAssignment({ assignmentId: assignment.id }))}
              >
                {t("revoke")}
              </button>
            </td>
          </tr>
        ))}
      </Table>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void act(() =>
            client(AdminService).assignRole({
              requestId: requestId(),
              assignment: {
                userId: props.user.id,
                roleCode: roleCode || props.roles[0]?.code || "",
                scope,
                validUntil: until ? timestampFromDate(new Date(`${until}T23:59:59`)) : undefined,
              },
            }),
          );
        }}
      >
        <div class="grid">
          <Pick
            label={t("roles")}
            name="role_code"
            value={roleCode || props.roles[0]?.code || ""}
            options={props.roles.map((role) => ({ id: role.code, name: role.name }))}
            onChange={setRoleCode}
          />
          <Pick label={t("scope")} name="scope" value={scope} options={props.scopes} onChange={setScope} />
          <Field label={t("validUntil")} name="valid_until" type="date" value={until} onInput={setUntil} />
        </div>
        <button type="submit">{t("assign")}</button>
      </form>
    </Section>
  );
}

export function Administration(props: { manageBeds: boolean }) {
  const [users, setUsers] = useState<User[]>([]);
  const [roles, setRoles] = useState<Role[]>([]);
  const [facilities, setFacilities] = useState<Facility[]>([]);
  const [departments] = useDepartments(ALL_KINDS);
  const [selected, setSelected] = useState<User | null>(null);
  const [error, attempt, setError] = useAttempt();
  const [generation, setGeneration] = useState(0);
  const [username, setUsername] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [registration, setRegistration] = useState("");
  const [password, setPassword] = useState("");
  const [accountName, setAccountName] = useState("");
  const [secret, setSecret] = useState<{ clientId: string; clientSecret: string } | null>(null);

  useEffect(() => {
    (async () => {
      const admin = client(AdminService);
      const [listed, roleList, facilityList] = await Promise.all([
        admin.listUsers({ pageSize: 500 }),
        admin.listRoles({}),
        client(FacilityService).listFacilities({ pageSize: 100 }),
      ]);
      setUsers(listed.users);
      setRoles(roleList.roles);
      setFacilities(facilityList.facilities);
    })().catch(setError);
  }, [generation]);

  const act = async (action: () => Promise<unknown>) => {
    if (await attempt(action)) setGeneration(generation + 1);
  };

  const scopes = [
    { id: "tenant", name: t("wholeTenant") },
    ...facilities.map((facility) => ({ id: `facility:${facility.id}`, name: facility.name })),
    ...departments.map((department) => ({ id: `department:${department.id}`, name: department.name })),
  ];

  return (
    <>
      <h1>{t("administration")}</h1>
      <ErrorMessage error={error} />
      <Section title={t("users")} id="users">
        <Table columns={["username", "displayName", "status", "actions"]}>
          {users.map((user) => (
            <tr key={user.id} aria-selected={selected?.id === user.id}>
              <td>
                <button type="button" class="link" onClick={() => setSelected(user)}>
                  {user.username}
                </button>
              </td>
              <td>
                {user.displayName}
                {user.serviceAccount && <small> · {t("serviceAccount")}</small>}
              </td>
              <td>{user.status === UserStatus.DISABLED ? t("disabled") : t("active")}</td>
              <td>
                <button
                  type="button"
                  class="outline"
                  aria-label={`${user.status === UserStatus.DISABLED ? t("enable") : t("disable")}: ${user.username}`}
                  onClick={() =>
                    act(() =>
                      client(AdminService).setUserStatus({
                        userId: user.id,
                        status: user.status === UserStatus.DISABLED ? UserStatus.ACTIVE : UserStatus.DISABLED,
                      }),
                    )
                  }
                >
                  {user.status === UserStatus.DISABLED ? t("enable") : t("disable")}
                </button>
              </td>
            </tr>
          ))}
        </Table>
      </Section>
      {selected ? <Assignments user={selected} roles={roles} scopes={scopes} /> : <p>{t("chooseUser")}</p>}
      <form
        aria-labelledby="create-user-title"
        onSubmit={(event) => {
          event.preventDefault();
          void act(async () => {
            const created = await client(AdminService).createUser({
              requestId: requestId(),
              user: { username: username.trim(), displayName: displayName.trim(), registrationNumber: registration.trim() },
              initialPassword: password,
            });
            setSelected(created.user ?? null);
            setUsername("");
            setDisplayName("");
            setRegistration("");
            setPassword("");
          });
        }}
      >
        <h2 id="create-user-title">{t("createUser")}</h2>
        <div class="grid">
          <Field label={t("username")} name="new_username" value={username} onInput={setUsername} required />
          <Field label={t("displayName")} name="display_name" value={displayName} onInput={setDisplayName} required />
        </div>
        <div class="grid">
          <Field label={t("registrationNumber")} name="registration_number" value={registration} onInput={setRegistration} />
          <Field
            label={t("initialPassword")}
            name="initial_password"
            type="password"
            value={password}
            onInput={setPassword}
            required
            autocomplete="new-password"
          />
        </div>
        <button type="submit">{t("createUser")}</button>
      </form>
      <form
        aria-labelledby="service-account-title"
        onSubmit={(event) => {
          event.preventDefault();
          void act(async () => {
            const created = await client(AdminService).createServiceAccount({
              requestId: requestId(),
              name: accountName.trim(),
            });
            setSecret({ clientId: created.clientId, clientSecret: created.clientSecret });
            setAccountName("");
          });
        }}
      >
        <h2 id="service-account-title">{t("createServiceAccount")}</h2>
        <Field label={t("accountName")} name="account_name" value={accountName} onInput={setAccountName} required />
        <button type="submit" class="secondary">
          {t("createServiceAccount")}
        </button>
        {secret && (
          <div role="alert">
            <p>{t("clientSecretOnce")}</p>
            <p>
              {t("clientId")}: <code>{secret.clientId}</code>
            </p>
            <p>
              {t("clientSecret")}: <code data-testid="client-secret">{secret.clientSecret}</code>
            </p>
          </div>
        )}
      </form>
      {props.manageBeds && <BedRegister />}
      <Section title={t("roles")} id="roles">
        <Table columns={["roles", "permissions"]}>
          {roles.map((role) => (
            <tr key={role.id}>
              <td>
                {role.name} <small>({role.code})</small>
              </td>
              <td>
                <small>{role.permissions.join(", ")}</small>
              </td>
            </tr>
          ))}
        </Table>
      </Section>
    </>
  );
}
