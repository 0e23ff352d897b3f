import { useState } from "preact/hooks";
import { signIn, type Session } from "../api";
import { preferredLanguage, setLanguage, t } from "../i18n";
import { ErrorMessage, Field } from "../ui";

export function SignIn(props: {
  notice: string;
  onSignedIn: (session: Session) => void;
  onEnded: (reason: "signed-out" | "expired") => void;
}) {
  const [tenant, setTenant] = useState(localStorage.getItem("openhmis.tenant") ?? "DEMO");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await signIn(tenant.trim(), username.trim(), password, props.onEnded);
      localStorage.setItem("openhmis.tenant", tenant.trim());
      setLanguage(preferredLanguage(session.me.username));
      props.onSignedIn(session);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="container narrow" id="content">
      <h1>{t("appName")}</h1>
      {props.notice && (
        <p role="status" class="notice">
          {props.notice}
        </p>
      )}
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h2 id="sign-in-title">{t("signInTitle")}</h2>
        <Field label={t("institution")} name="tenant" value={tenant} onInput={setTenant} />
        <Field
          label={t("username")}
          name="username"
          value={username}
          onInput={setUsername}
          required
          autocomplete="username"
        />
        <Field
          label={t("password")}
          name="password"
          type="password"
          value={password}
          onInput={setPassword}
          required
          autocomplete="current-password"
        />
        <ErrorMessage error={error} />
        <button type="submit" aria-busy={busy}>
          {t("signIn")}
        </button>
      </form>
    </main>
  );
}
