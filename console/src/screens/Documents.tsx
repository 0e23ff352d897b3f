// A patient's documents in the archive: listed with their versions, downloaded (streamed from
// the server, saved as a file), and added at the desk or on the ward (a scanned consent, a
// referral letter, a photo: the server recognises the type from the bytes); an issued
// document's signatures verified; the records office holds a document or deletes one whose
// retention ended, with its reason. `PatientPhoto` shows the record's photo (the archive's
// PHOTO document the registry names). `PrintButton` issues a document from the record as a signed
// PDF (the encounter's extract and prescriptions, a certificate, the ward's order) and saves it.
import { useEffect, useState } from "preact/hooks";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { client, holds, requestId, type Session } from "../api";
import { FacilityService, type Facility } from "../gen/openhmis/core/v1/core_pb";
import {
  DocumentService,
  Printout,
  type Document,
  type IssueDocumentRequest,
  type Kind,
} from "../gen/openhmis/documents/v1/documents_pb";
import { formatTime, t, type Key } from "../i18n";
import { useWards } from "../places";
import { ErrorMessage, Field, Pick, Section, Table, useAttempt } from "../ui";

/** The largest file sent from a browser (the server's one-message limit). */
const MAX_BYTES = 8 * 1024 * 1024;

function size(bytes: bigint): string {
  const value = Number(bytes);
  return value >= 1024 * 1024 ? `${(value / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(value / 1024)} KiB`;
}

/** Saves `parts` as a file the browser downloads. */
function save(parts: BlobPart[], type: string, name: string) {
  const url = URL.createObjectURL(new Blob(parts, { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A document's current version streamed from the archive: its parts, type and file name. */
async function fetchDocument(doc: { id: string; title: string }) {
  const parts: BlobPart[] = [];
  let type = "application/octet-stream";
  let name = doc.title;
  for await (const message of client(DocumentService).downloadDocument({ documentId: doc.id, version: 0 })) {
    if (message.part.case === "header") {
      const version = message.part.value.version;
      type = version?.contentType ?? type;
      name = version?.fileName || doc.title;
    } else if (message.part.case === "chunk") {
      // The transport's bytes live in plain ArrayBuffers.
      parts.push(message.part.value as Uint8Array<ArrayBuffer>);
    }
  }
  return { parts, type, name };
}

/** Streams a document's current version from the archive and saves it as a file. */
async function downloadDocument(doc: { id: string; title: string }) {
  const { parts, type, name } = await fetchDocument(doc);
  save(parts, type, name);
}

/** The record's photo: the archive's document `documentId` (its current version). */
export function PatientPhoto(props: { documentId: string; name: string }) {
  const [url, setUrl] = useState("");
  useEffect(() => {
    let shown = "";
    let cancelled = false;
    fetchDocument({ id: props.documentId, title: props.name })
      .then(({ parts, type }) => {
        if (cancelled || !type.startsWith("image/")) return;
        shown = URL.createObjectURL(new Blob(parts, { type }));
        setUrl(shown);
      })
      // A photo the archive no longer gives (deleted, or out of reach) is simply not shown.
      .catch(() => setUrl(""));
    return () => {
      cancelled = true;
      if (shown) URL.revokeObjectURL(shown);
    };
  }, [props.documentId]);
  return url ? <img class="patient-photo" src={url} alt={`${t("photoOf")} ${props.name}`} /> : null;
}

/** What a printout's request names: the printout and its source (the request id is added). */
export type PrintRequest = Partial<Omit<IssueDocumentRequest, "requestId" | "$typeName">> & { printout: Printout };

/** Issues the document the request names (rendered, signed and archived by the server) and
 * saves the PDF. */
export function PrintButton(props: { request: PrintRequest; label: Key; name?: string }) {
  const [error, attempt] = useAttempt();
  const [done, setDone] = useState("");
  async function print() {
    const issued = await attempt(async () => {
      const answer = await client(DocumentService).issueDocument({ ...props.request, requestId: requestId() });
      const document = answer.document;
      if (document) await downloadDocument(document);
      return document;
    });
    if (issued?.value) setDone(`${t("documentIssued")}: ${issued.value.title}`);
  }
  const label = props.name ? `${t(props.label)}: ${props.name}` : t(props.label);
  return (
    <span>
      <button type="button" class="secondary" aria-label={label} onClick={print}>
        {t(props.label)}
      </button>
      {done && <small role="status"> {done}</small>}
      <ErrorMessage error={error} />
    </span>
  );
}

export function PatientDocuments(props: { patientId: string; session: Session }) {
  const [error, attempt] = useAttempt();
  const [documents, setDocuments] = useState<Document[]>([]);
  const [kinds, setKinds] = useState<Kind[]>([]);
  const [facilities, setFacilities] = useState<Facility[]>([]);
  const [wards] = useWards();
  const [kind, setKind] = useState("");
  const [title, setTitle] = useState("");
  const [wardId, setWardId] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [done, setDone] = useState("");
  // A new file input after each document stored (a file input cannot be emptied otherwise).
  const [picker, setPicker] = useState(0);
  const canWrite = holds(props.session, "documents.write");
  const canHold = holds(props.session, "documents.manage");
  const canDelete = holds(props.session, "documents.delete");
  // The records office's action under way on one document, with its reason.
  const [acting, setActing] = useState<{ id: string; action: "hold" | "release" | "delete" } | null>(null);
  const [reason, setReason] = useState("");
  const today = new Date().toISOString().slice(0, 10);

  async function list() {
    const answer = await attempt(() => client(DocumentService).listPatientDocuments({ patientId: props.patientId }));
    if (answer) setDocuments(answer.value.documents);
  }

  useEffect(() => {
    void list();
    if (canWrite) {
      void attempt(async () => {
        const [listed, found] = await Promise.all([
          client(DocumentService).listKinds({}),
          client(FacilityService).listFacilities({ pageSize: 100 }),
        ]);
        setKinds(listed.kinds);
        setFacilities(found.facilities);
      });
    }
  }, [props.patientId]);

  async function download(doc: Document) {
    await attempt(async () => {
      await downloadDocument(doc);
      setDone(`${t("documentDownloaded")}: ${doc.title}`);
    });
  }

  async function verify(doc: Document) {
    const answer = await attempt(() => client(DocumentService).verifyDocument({ documentId: doc.id, version: 0 }));
    if (!answer) return;
    const checked = answer.value;
    setDone(
      checked.verified
        ? `${doc.title}: ${t("verified")} ${checked.signatures.map((check) => check.signature?.signerName ?? "").join(", ")}`
        : `${doc.title}: ${t("notVerified")}`,
    );
  }

  async function act(event: Event, doc: Document) {
    event.preventDefault();
    if (!acting) return;
    const answer = await attempt(async () => {
      if (acting.action === "delete") {
        await client(DocumentService).deleteDocument({ requestId: requestId(), documentId: doc.id, reason: reason.trim() });
      } else {
        await client(DocumentService).setLegalHold({
          requestId: requestId(),
          documentId: doc.id,
          hold: acting.action === "hold",
          reason: reason.trim(),
        });
      }
      return true;
    });
    if (answer) {
      const key = acting.action === "hold" ? "holdPlaced" : acting.action === "release" ? "holdReleased" : "documentDeletedDone";
      setDone(`${t(key)}: ${doc.title}`);
      setActing(null);
      setReason("");
      await list();
    }
  }

  async function upload(event: Event) {
    event.preventDefault();
    if (!file) return;
    const ward = wards.find((candidate) => candidate.id === wardId);
    const facilityId = ward?.facilityId ?? facilities[0]?.id ?? "";
    const answer = await attempt(async () => {
      if (file.size > MAX_BYTES) throw new Error(t("documentTooLarge"));
      const content = new Uint8Array(await file.arrayBuffer());
      return client(DocumentService).storeDocument({
        header: {
          requestId: requestId(),
          kindCode: kind || kinds[0]?.code || "",
          patientId: props.patientId,
          facilityId,
          departmentId: ward?.id ?? "",
          title: title.trim() || file.name,
          fileName: file.name,
        },
        content,
      });
    });
    if (answer) {
      setDone(`${t("documentStored")}: ${answer.value.document?.title ?? ""}`);
      setTitle("");
      setFile(null);
      setPicker((count) => count + 1);
      await list();
    }
  }

  return (
    <Section title={t("documents")} id="documents">
      {done && <p role="status">{done}</p>}
      <ErrorMessage error={error} />
      <Table columns={["documentTitle", "documentKind", "documentVersion", "added", "retainUntil", "actions"]}>
        {documents.map((doc) => {
          const current = doc.versions[doc.versions.length - 1];
          return (
            <tr key={doc.id}>
              <th scope="row">{doc.title}</th>
              <td>{kinds.find((candidate) => candidate.code === doc.kindCode)?.name ?? doc.kindCode}</td>
              <td>
                {current ? `v${current.number} · ${current.contentType} · ${size(current.sizeBytes)}` : ""}
              </td>
              <td>{doc.createTime ? formatTime(timestampMs(doc.createTime)) : ""}</td>
              <td>
                {doc.retainUntil}
                {doc.legalHold && ` · ${t("legalHold")}`}
              </td>
              <td>
                {doc.deleted ? (
                  t("documentDeleted")
                ) : (
                  <>
                    <button type="button" class="secondary" aria-label={`${t("download")}: ${doc.title}`} onClick={() => download(doc)}>
                      {t("download")}
                    </button>
                    {doc.signatures.length > 0 && (
                      <button type="button" class="outline" aria-label={`${t("verify")}: ${doc.title}`} onClick={() => verify(doc)}>
                        {t("verify")}
                      </button>
                    )}
                    {canHold && (
                      <button
                        type="button"
                        class="outline"
                        aria-label={`${t(doc.legalHold ? "releaseHold" : "placeHold")}: ${doc.title}`}
                        onClick={() => setActing({ id: doc.id, action: doc.legalHold ? "release" : "hold" })}
                      >
                        {t(doc.legalHold ? "releaseHold" : "placeHold")}
                      </button>
                    )}
                    {canDelete && !doc.legalHold && doc.retainUntil < today && (
                      <button
                        type="button"
                        class="outline"
                        aria-label={`${t("deleteDocument")}: ${doc.title}`}
                        onClick={() => setActing({ id: doc.id, action: "delete" })}
                      >
                        {t("deleteDocument")}
                      </button>
                    )}
                    {acting?.id === doc.id && (
                      <form onSubmit={(event) => act(event, doc)} aria-label={`${t("reason")}: ${doc.title}`}>
                        <Field label={t("reason")} name="document-reason" value={reason} onInput={setReason} required />
                        <button type="submit">
                          {t(acting.action === "hold" ? "placeHold" : acting.action === "release" ? "releaseHold" : "deleteDocument")}
                        </button>
                      </form>
                    )}
                  </>
                )}
              </td>
            </tr>
          );
        })}
      </Table>
      {documents.length === 0 && <p>{t("noDocuments")}</p>}
      {canWrite && (
        <form onSubmit={upload} aria-label={t("addDocument")}>
          <div class="grid">
            <Pick
              label={t("documentKind")}
              name="document-kind"
              value={kind || kinds[0]?.code || ""}
              options={kinds.map((candidate) => ({ id: candidate.code, name: candidate.name }))}
              onChange={setKind}
            />
            <Pick
              label={t("ward")}
              name="document-ward"
              value={wardId}
              options={[{ id: "", name: t("wholeFacility") }, ...wards.map((w) => ({ id: w.id, name: w.name }))]}
              onChange={setWardId}
            />
          </div>
          <Field label={t("documentTitle")} name="document-title" value={title} onInput={setTitle} />
          <label>
            {t("documentFile")}
            <input
              key={picker}
              type="file"
              name="document-file"
              accept="application/pdf,image/jpeg,image/png,image/tiff,image/webp"
              onChange={(event) => setFile((event.target as HTMLInputElement).files?.[0] ?? null)}
            />
          </label>
          <button type="submit" disabled={!file}>
            {t("addDocument")}
          </button>
        </form>
      )}
    </Section>
  );
}
