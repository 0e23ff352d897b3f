// The console's one door to the server: grpc-web on the page's own origin, typed clients
// generated from proto/ (protoc-gen-es), and the session (tokens, refresh before expiry,
// sign-out, the end of a session). No hand-written wire code.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { DescService } from "@bufbuild/protobuf";
import { AuthService, type GetMeResponse, type Tokens } from "./gen/openhmis/iam/v1/auth_pb";

/** The signed-in person, as the server describes them. */
export interface Session {
  tenantCode: string;
  me: GetMeResponse;
}

let accessToken = "";
let refreshToken = "";
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let ended: ((reason: "signed-out" | "expired") => void) | undefined;

// Every call after sign-in carries the access token; an UNAUTHENTICATED answer ends the
// session (the page says so instead of failing call after call).
const bearer: Interceptor = (next) => async (request) => {
  if (accessToken) {
    request.header.set("authorization", `Bearer ${accessToken}`);
  }
  try {
    return await next(request);
  } catch (error) {
    if (accessToken && error instanceof ConnectError && error.code === Code.Unauthenticated) {
      endSession("expired");
    }
    throw error;
  }
};

/** Break-glass: the reason the caller gives for opening a record outside its scope. */
let breakGlassReason = "";
const breakGlass: Interceptor = (next) => async (request) => {
  if (breakGlassReason) {
    request.header.set("x-break-glass-reason", breakGlassReason);
  }
  return next(request);
};

const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  interceptors: [bearer, breakGlass],
});

const clients = new Map<DescService, unknown>();

/** The typed client of one service of the contracts. */
export function client<T extends DescService>(service: T): Client<T> {
  let found = clients.get(service) as Client<T> | undefined;
  if (!found) {
    found = createClient(service, transport);
    clients.set(service, found);
  }
  return found;
}

/** Runs `call` with a break-glass reason on its requests. */
export async function withBreakGlass<T>(reason: string, call: () => Promise<T>): Promise<T> {
  breakGlassReason = reason;
  try {
    return await call();
  } finally {
    breakGlassReason = "";
  }
}

function keep(tokens: Tokens | undefined): void {
  if (!tokens) throw new Error("the server answered without tokens");
  accessToken = tokens.accessToken;
  refreshToken = tokens.refreshToken;
  clearTimeout(refreshTimer);
  // Refresh a minute before the access token expires (or halfway, for short tokens).
  const expires = tokens.accessTokenExpireTime ? timestampMs(tokens.accessTokenExpireTime) : 0;
  const left = expires - Date.now();
  if (left > 0) {
    const wait = Math.max(left > 120_000 ? left - 60_000 : left / 2, 1_000);
    refreshTimer = setTimeout(() => void refresh(), wait);
  }
}

async function refresh(): Promise<void> {
  try {
    keep((await client(AuthService).refresh({ refreshToken })).tokens);
  } catch {
    endSession("expired");
  }
}

/** Signs in; `onEnd` is told when the session ends other than by signing out. */
export async function signIn(
  tenantCode: string,
  username: string,
  password: string,
  onEnd: (reason: "signed-out" | "expired") => void,
): Promise<Session> {
  const answer = await client(AuthService).login({
    tenantCode,
    credentials: { case: "password", value: { username, password } },
  });
  keep(answer.tokens);
  ended = onEnd;
  const me = await client(AuthService).getMe({});
  return { tenantCode, me };
}

export async function signOut(): Promise<void> {
  const token = refreshToken;
  try {
    if (token) await client(AuthService).logout({ refreshToken: token });
  } finally {
    endSession("signed-out");
  }
}

function endSession(reason: "signed-out" | "expired"): void {
  clearTimeout(refreshTimer);
  accessToken = "";
  refreshToken = "";
  const tell = ended;
  ended = undefined;
  tell?.(reason);
}

/** Whether a session is open (its access token is refreshed as it nears expiry). */
export function signedIn(): boolean {
  return accessToken !== "";
}

/** Whether the signed-in person holds `permission` in some scope. */
export function holds(session: Session, permission: string): boolean {
  return session.me.grants.some((grant) => grant.permission === permission);
}

/** A fresh idempotency key for one write (a retry of the same write reuses it). */
export function requestId(): string {
  return crypto.randomUUID();
}
