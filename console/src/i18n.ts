// Romanian and English, chosen per user (remembered on this computer per user name), and
// dates in the facility's time zone. Every text of the console is a key of `en`; `ro` must
// have the same keys (the compiler checks it).
export type Language = "en" | "ro";

const en = {
  appName: "OpenHMIS",
  signInTitle: "Sign in",
  institution: "Institution code",
  username: "User name",
  password: "Password",
  signIn: "Sign in",
  signOut: "Sign out",
  signedInAs: "Signed in as",
  language: "Language",
  sessionEnded: "Your session has ended. Sign in again to go on.",
  signedOut: "You signed out.",
  registry: "Patients",
  searchTitle: "Find a patient",
  searchBy: "Search by",
  byName: "Name",
  byNationalId: "National ID (IDNP)",
  byMrn: "Medical record number",
  searchText: "Search for",
  birthYear: "Birth year",
  search: "Search",
  noMatches: "No patient matches.",
  mrn: "MRN",
  name: "Name",
  birthDate: "Birth date",
  sex: "Sex",
  score: "Match",
  open: "Open",
  registerTitle: "Register a patient",
  familyName: "Family name",
  givenNames: "Given names",
  patronymic: "Patronymic",
  nationalId: "National ID (IDNP)",
  nationalIdHint: "13 digits; checked as you type",
  nationalIdValid: "Valid IDNP",
  nationalIdInvalid: "Not a valid IDNP (13 digits with a check digit)",
  phone: "Phone",
  register: "Register",
  registered: "Registered with MRN",
  duplicatesTitle: "These records may be the same person",
  duplicatesHelp: "Open one of them, or register a new record if none is this person.",
  registerAnyway: "None of them: register a new record",
  female: "female",
  male: "male",
  unknown: "unknown",
  record: "Patient record",
  identifiers: "Identifiers",
  history: "Changes to the record",
  visits: "Stays and visits",
  version: "Version",
  changedFields: "Changed",
  changedBy: "By",
  when: "When",
  noVisits: "No stays or visits yet.",
  deceased: "deceased",
  confidential: "confidential",
  unpaidDebt: "unpaid debt",
  back: "Back to the search",
  age: "Age",
  years: "years",
  breakGlassTitle: "This record is outside your scope",
  breakGlassHelp: "Opening it anyway is recorded with your reason and reviewed.",
  reason: "Reason",
  openAnyway: "Open anyway",
  required: "required",
  loading: "Loading…",
  errorPrefix: "The server refused",
  unavailable: "The server cannot be reached; try again in a moment.",
  mergeTitle: "Merge a duplicate into this record",
  mergedMrn: "MRN of the duplicate",
  merge: "Merge",
  merged: "Merged; the duplicate now points at this record.",
  unmerge: "Undo the merge",
  mergedInto: "Merged into",
  admissions: "Admissions",
  skipToContent: "Skip to the content",
} as const;

export type Key = keyof typeof en;

const ro: Record<Key, string> = {
  appName: "OpenHMIS",
  signInTitle: "Autentificare",
  institution: "Codul instituției",
  username: "Utilizator",
  password: "Parolă",
  signIn: "Intră",
  signOut: "Ieșire",
  signedInAs: "Autentificat ca",
  language: "Limba",
  sessionEnded: "Sesiunea s-a încheiat. Autentificați-vă din nou pentru a continua.",
  signedOut: "Ați ieșit din sistem.",
  registry: "Pacienți",
  searchTitle: "Căutarea pacientului",
  searchBy: "Caută după",
  byName: "Nume",
  byNationalId: "IDNP",
  byMrn: "Numărul fișei medicale",
  searchText: "Caută",
  birthYear: "Anul nașterii",
  search: "Caută",
  noMatches: "Niciun pacient găsit.",
  mrn: "Nr. fișă",
  name: "Nume",
  birthDate: "Data nașterii",
  sex: "Sex",
  score: "Potrivire",
  open: "Deschide",
  registerTitle: "Înregistrarea pacientului",
  familyName: "Nume",
  givenNames: "Prenume",
  patronymic: "Patronimic",
  nationalId: "IDNP",
  nationalIdHint: "13 cifre; verificat pe loc",
  nationalIdValid: "IDNP valid",
  nationalIdInvalid: "IDNP invalid (13 cifre cu cifră de control)",
  phone: "Telefon",
  register: "Înregistrează",
  registered: "Înregistrat cu numărul fișei",
  duplicatesTitle: "Aceste fișe pot fi ale aceleiași persoane",
  duplicatesHelp: "Deschideți una dintre ele sau creați o fișă nouă dacă nu este această persoană.",
  registerAnyway: "Niciuna: creează o fișă nouă",
  female: "feminin",
  male: "masculin",
  unknown: "necunoscut",
  record: "Fișa pacientului",
  identifiers: "Acte de identitate",
  history: "Modificările fișei",
  visits: "Internări și vizite",
  version: "Versiunea",
  changedFields: "Modificat",
  changedBy: "De către",
  when: "Când",
  noVisits: "Nicio internare sau vizită.",
  deceased: "decedat",
  confidential: "confidențial",
  unpaidDebt: "datorie neachitată",
  back: "Înapoi la căutare",
  age: "Vârsta",
  years: "ani",
  breakGlassTitle: "Această fișă este în afara competenței dvs.",
  breakGlassHelp: "Deschiderea este înregistrată împreună cu motivul și verificată.",
  reason: "Motivul",
  openAnyway: "Deschide oricum",
  required: "obligatoriu",
  loading: "Se încarcă…",
  errorPrefix: "Serverul a refuzat",
  unavailable: "Serverul nu răspunde; încercați din nou peste puțin timp.",
  mergeTitle: "Contopirea unui duplicat în această fișă",
  mergedMrn: "Nr. fișei duplicat",
  merge: "Contopește",
  merged: "Contopit; duplicatul trimite acum la această fișă.",
  unmerge: "Anulează contopirea",
  mergedInto: "Contopit în",
  admissions: "Internări",
  skipToContent: "Salt la conținut",
};

const dictionaries: Record<Language, Record<Key, string>> = { en, ro };

let current: Language = "en";

export function setLanguage(language: Language): void {
  current = language;
  document.documentElement.lang = language;
}

export function language(): Language {
  return current;
}

/** The text of `key` in the current language. */
export function t(key: Key): string {
  return dictionaries[current][key];
}

/** The language `username` chose on this computer, else the browser's. */
export function preferredLanguage(username: string): Language {
  const chosen = localStorage.getItem(`openhmis.language.${username}`);
  if (chosen === "en" || chosen === "ro") return chosen;
  return navigator.language.startsWith("ro") ? "ro" : "en";
}

export function rememberLanguage(username: string, language: Language): void {
  localStorage.setItem(`openhmis.language.${username}`, language);
}

/** A moment in the facility's time zone, in the user's language. */
export function formatTime(ms: number, timeZone?: string): string {
  return new Intl.DateTimeFormat(current === "ro" ? "ro-MD" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone,
  }).format(new Date(ms));
}

/** A calendar date (YYYY-MM-DD) in the user's language. */
export function formatDate(isoDate: string): string {
  if (!isoDate) return "";
  const [year, month, day] = isoDate.split("-").map(Number);
  return new Intl.DateTimeFormat(current === "ro" ? "ro-MD" : "en-GB", {
    dateStyle: "medium",
    timeZone: "UTC",
  }).format(new Date(Date.UTC(year, month - 1, day)));
}
