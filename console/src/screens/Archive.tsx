// The archive's kinds of documents, for the records office (documents.manage): each kind's
// retention in years, the content types it takes (recognised from the bytes) and its largest
// file; a kind changed or added. A document's retention is fixed when it is filed.
import { useEffect, useState } from "preact/hooks";
import { client } from "../api";
import { DocumentService, type Kind } from "../gen/openhmis/documents/v1/documents_pb";
import { formatNumber, t } from "../i18n";
import { ErrorMessage, Field, Section, Table, useAttempt } from "../ui";

const MIB = 1024 * 1024;

export function Archive() {
  const [error, attempt] = useAttempt();
  const [kinds, setKinds] = useState<Kind[]>([]);
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  const [years, setYears] = useState("");
  const [types, setTypes] = useState("");
  const [megabytes, setMegabytes] = useState("");
  const [done, setDone] = useState("");

  async function list() {
    const answer = await attempt(() => client(DocumentService).listKinds({}));
    if (answer) setKinds(answer.value.kinds);
  }

  useEffect(() => {
    void list();
  }, []);

  function edit(kind: Kind) {
    setCode(kind.code);
    setName(kind.name);
    setYears(String(kind.retentionYears));
    setTypes(kind.contentTypes.join(", "));
    setMegabytes(String(Number(kind.maxSizeBytes) / MIB));
  }

  async function save(event: Event) {
    event.preventDefault();
    const answer = await attempt(() =>
      client(DocumentService).setKind({
        kind: {
          code: code.trim().toUpperCase(),
          name: name.trim(),
          retentionYears: Number(years),
          contentTypes: types
            .split(",")
            .map((type) => type.trim())
            .filter(Boolean),
          maxSizeBytes: BigInt(Math.round(Number(megabytes) * MIB)),
        },
      }),
    );
    if (answer) {
      setDone(`${t("kindSaved")}: ${answer.value.kind?.name ?? ""}`);
      await list();
    }
  }

  return (
    <Section title={t("kindsOfDocuments")} id="kinds">
      {done && <p role="status">{done}</p>}
      <ErrorMessage error={error} />
      <Table columns={["kindCode", "documentKind", "retentionYears", "contentTypes", "largestFile", "actions"]}>
        {kinds.map((kind) => (
          <tr key={kind.code}>
            <td>{kind.code}</td>
            <th scope="row">{kind.name}</th>
            <td>{kind.retentionYears}</td>
            <td>{kind.contentTypes.length > 0 ? kind.contentTypes.join(", ") : t("anyRecognisedType")}</td>
            <td>{formatNumber(String(Number(kind.maxSizeBytes) / MIB))} MiB</td>
            <td>
              <button type="button" class="outline" aria-label={`${t("editKind")}: ${kind.name}`} onClick={() => edit(kind)}>
                {t("editKind")}
              </button>
            </td>
          </tr>
        ))}
      </Table>
      <form onSubmit={save} aria-label={t("saveKind")}>
        <div class="grid">
          <Field label={t("kindCode")} name="kind-code" value={code} onInput={setCode} required />
          <Field label={t("documentKind")} name="kind-name" value={name} onInput={setName} required />
          <Field label={t("retentionYears")} name="kind-years" type="number" value={years} onInput={setYears} required />
        </div>
        <div class="grid">
          <Field label={t("contentTypes")} name="kind-types" value={types} onInput={setTypes} />
          <Field label={t("largestFileMib")} name="kind-size" type="number" value={megabytes} onInput={setMegabytes} required />
        </div>
        <button type="submit">{t("saveKind")}</button>
      </form>
    </Section>
  );
}
