// The staff console: sign-in, then the screens the signed-in person's permissions open,
// addressed by the page's hash (#/patients, #/patients/<id>) so a link can be shared and
// the back button works. Everything goes over the public contracts (grpc-web).
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { holds, signOut, type Session } from "./api";
import { language, rememberLanguage, setLanguage, t, type Key, type Language } from "./i18n";
import { Admissions } from "./screens/Admissions";
import { Administration } from "./screens/Administration";
import { CashDesk } from "./screens/CashDesk";
import { Census } from "./screens/Census";
import { Emergency } from "./screens/Emergency";
import { Encounter } from "./screens/Encounter";
import { Imaging } from "./screens/Imaging";
import { Laboratory, WardLaboratory } from "./screens/Laboratory";
import { Pharmacy } from "./screens/Pharmacy";
import { Reports } from "./screens/Reports";
import { Revenue } from "./screens/Revenue";
import { Tariffs } from "./screens/Tariffs";
import { Archive } from "./screens/Archive";
import { Round } from "./screens/Round";
import { WardOrder } from "./screens/WardOrder";
import { PatientRecord } from "./screens/PatientRecord";
import { Registry } from "./screens/Registry";
import { SignIn } from "./screens/SignIn";
import { Theatre } from "./screens/Theatre";
import { Appointments } from "./screens/Appointments";
import { Meals } from "./screens/Meals";
import "@picocss/pico/css/pico.min.css";
import "./console.css";

function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const changed = () => setHash(window.location.hash);
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return hash;
}

function Screen(props: { hash: string; session: Session }) {
  const admissions = /^#\/admissions(?:\/([0-9a-f-]{36}))?(?:\?mrn=(\w+)(?:&visit=([0-9a-f-]{36}))?)?$/.exec(props.hash);
  if (admissions) {
    return (
      <Admissions
        wardId={admissions[1] ?? ""}
        patientMrn={admissions[2] ?? ""}
        visitId={admissions[3] ?? ""}
        session={props.session}
      />
    );
  }
  if (props.hash.startsWith("#/emergency")) return <Emergency />;
  if (props.hash.startsWith("#/admin")) return <Administration manageBeds={holds(props.session, "core.manage")} />;
  if (props.hash.startsWith("#/round")) return <Round />;
  if (props.hash.startsWith("#/ward-order")) return <WardOrder />;
  if (props.hash.startsWith("#/pharmacy")) return <Pharmacy tab={props.hash.slice("#/pharmacy/".length)} />;
  if (props.hash.startsWith("#/statistics")) return <Census />;
  if (props.hash.startsWith("#/theatre")) return <Theatre session={props.session} />;
  if (props.hash.startsWith("#/appointments")) return <Appointments session={props.session} />;
  if (props.hash.startsWith("#/meals")) return <Meals session={props.session} />;
  if (props.hash.startsWith("#/cashdesk")) return <CashDesk />;
  if (props.hash.startsWith("#/revenue")) return <Revenue />;
  if (props.hash.startsWith("#/tariffs")) return <Tariffs />;
  if (props.hash.startsWith("#/archive")) return <Archive />;
  if (props.hash.startsWith("#/laboratory")) return <Laboratory session={props.session} />;
  if (props.hash.startsWith("#/ward-lab")) return <WardLaboratory />;
  if (props.hash.startsWith("#/imaging")) return <Imaging session={props.session} />;
  const report = /^#\/reports(?:\/(\w+))?$/.exec(props.hash);
  if (report) return <Reports tab={report[1] ?? ""} session={props.session} />;
  const encounter = /^#\/encounters\/([0-9a-f-]{36})$/.exec(props.hash);
  if (encounter) return <Encounter patientId={encounter[1]} session={props.session} />;
  const patient = /^#\/patients\/([0-9a-f-]{36})$/.exec(props.hash);
  if (patient) return <PatientRecord id={patient[1]} session={props.session} />;
  // The first screen of one's work: the registry, else what the role does.
  if (holds(props.session, "patients.read")) return <Registry />;
  if (holds(props.session, "statistics.read")) return <Census />;
  return <p>{t("signedInAs")} {props.session.me.username}</p>;
}

/** The screens of the main menu, each shown to those holding its permission. */
const SCREENS: { path: string; title: Key; permission: string }[] = [
  { path: "#/patients", title: "registry", permission: "patients.read" },
  { path: "#/appointments", title: "appointmentsScreen", permission: "scheduling.read" },
  { path: "#/emergency", title: "emergencyUnit", permission: "admissions.admit" },
  { path: "#/admissions", title: "admissions", permission: "admissions.read" },
  { path: "#/round", title: "medicationRound", permission: "nursing.administer" },
  { path: "#/ward-order", title: "wardOrder", permission: "nursing.administer" },
  { path: "#/meals", title: "mealsScreen", permission: "nutrition.read" },
  { path: "#/pharmacy", title: "pharmacy", permission: "pharmacy.dispense" },
  { path: "#/ward-lab", title: "wardLaboratory", permission: "laboratory.acknowledge" },
  { path: "#/laboratory", title: "labBench", permission: "laboratory.process" },
  { path: "#/imaging", title: "imagingScreen", permission: "imaging.perform" },
  { path: "#/theatre", title: "operatingBlock", permission: "surgery.read" },
  { path: "#/cashdesk", title: "cashDesk", permission: "billing.cash" },
  { path: "#/revenue", title: "revenue", permission: "billing.reports" },
  { path: "#/tariffs", title: "tariffsAndInsurers", permission: "billing.manage" },
  { path: "#/statistics", title: "statistics", permission: "statistics.read" },
  { path: "#/archive", title: "archive", permission: "documents.manage" },
  { path: "#/admin", title: "administration", permission: "iam.users.read" },
];

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState("");
  const [, setLanguageShown] = useState<Language>(language());
  const hash = useHash();

  const ended = (reason: "signed-out" | "expired") => {
    setSession(null);
    setNotice(reason === "expired" ? t("sessionEnded") : t("signedOut"));
  };

  if (!session) {
    return (
      <SignIn
        notice={notice}
        onEnded={ended}
        onSignedIn={(signedIn) => {
          setNotice("");
          setSession(signedIn);
        }}
      />
    );
  }

  const choose = (chosen: Language) => {
    setLanguage(chosen);
    rememberLanguage(session.me.username, chosen);
    setLanguageShown(chosen);
  };

  return (
    <>
      <a href="#content" class="skip">
        {t("skipToContent")}
      </a>
      <header class="container">
        <nav aria-label="main">
          <ul>
            <li>
              <strong>{t("appName")}</strong>
            </li>
            {SCREENS.filter((screen) => holds(session, screen.permission)).map((screen) => (
              <li key={screen.path}>
                <a href={screen.path} aria-current={hash.startsWith(screen.path) ? "page" : undefined}>
                  {t(screen.title)}
                </a>
              </li>
            ))}
          </ul>
          <ul>
            <li>
              <span>
                {t("signedInAs")} <strong data-testid="who">{session.me.displayName || session.me.username}</strong>
              </span>
            </li>
            <li>
              <label class="inline">
                <span class="visually-hidden">{t("language")}</span>
                <select
                  name="language"
                  aria-label={t("language")}
                  value={language()}
                  onChange={(event) => choose((event.target as HTMLSelectElement).value as Language)}
                >
                  <option value="en">English</option>
                  <option value="ro">Română</option>
                </select>
              </label>
            </li>
            <li>
              <button type="button" class="secondary" onClick={() => void signOut()}>
                {t("signOut")}
              </button>
            </li>
          </ul>
        </nav>
      </header>
      <main class="container" id="content" tabIndex={-1}>
        <Screen hash={hash} session={session} />
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
