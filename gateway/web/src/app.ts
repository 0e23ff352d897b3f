// The browser proof: the registry's front door over grpc-web through openhmis-gateway, with
// messages and service descriptors generated from proto/ (protoc-gen-es). No framework: the
// point is the contract, not the page.
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AuthService } from "./gen/openhmis/iam/v1/auth_pb";
import { PatientService, Sex } from "./gen/openhmis/patients/v1/patients_pb";

let accessToken = "";

// Every call after sign-in carries the access token.
const bearer: Interceptor = (next) => async (request) => {
  if (accessToken) {
    request.header.set("authorization", `Bearer ${accessToken}`);
  }
  return next(request);
};

const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  interceptors: [bearer],
});
const auth = createClient(AuthService, transport);
const patients = createClient(PatientService, transport);

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found as T;
}

function field(form: HTMLFormElement, name: string): string {
  const input = form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null;
  return input?.value.trim() ?? "";
}

function showError(error: unknown): void {
  // gRPC errors name their status and, for bad input, the fields at fault.
  element("error").textContent =
    error instanceof ConnectError ? `${Code[error.code]}: ${error.rawMessage}` : String(error);
}

function handle(id: string, action: (form: HTMLFormElement) => Promise<void>): void {
  const form = element<HTMLFormElement>(id);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    element("error").textContent = "";
    action(form).catch(showError);
  });
}

handle("login", async (form) => {
  const answer = await auth.login({
    tenantCode: field(form, "tenant"),
    credentials: {
      case: "password",
      value: { username: field(form, "username"), password: field(form, "password") },
    },
  });
  accessToken = answer.tokens?.accessToken ?? "";
  const me = await auth.getMe({});
  element("who").textContent = `Signed in as ${me.username}`;
  element("login").hidden = true;
  element("registry").hidden = false;
});

handle("register", async (form) => {
  const answer = await patients.registerPatient({
    requestId: crypto.randomUUID(),
    patient: {
      familyName: field(form, "family"),
      givenNames: field(form, "given"),
      birthDate: field(form, "birth"),
      sex: field(form, "sex") === "male" ? Sex.MALE : Sex.FEMALE,
    },
    confirmNewPatient: true,
  });
  element("registered").textContent = `Registered with MRN ${answer.patient?.mrn ?? "?"}`;
});

handle("search", async (form) => {
  const answer = await patients.searchPatients({ name: field(form, "name") });
  const rows = answer.matches.map((match) => {
    const row = document.createElement("tr");
    for (const text of [
      match.patient?.mrn ?? "",
      `${match.patient?.familyName ?? ""} ${match.patient?.givenNames ?? ""}`,
      match.patient?.birthDate ?? "",
    ]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  });
  element("results").replaceChildren(...rows);
});
