//! The tonic adapter of the archive: parse the request (every wrong field named, `parse.rs`),
//! call the use case (`crate::app`), answer. Uploads arrive as a header then chunks; downloads
//! leave as a header then chunks.

mod parse;

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use hmis_platform::RequestContext;
use hmis_proto::openhmis::documents::v1 as pb;
use pb::document_service_server::DocumentService;
use pb::download_document_response::Part as DownloadPart;
use pb::upload_document_request::Part as UploadPart;
use tonic::{Request, Response, Status, Streaming};

use crate::app::{Archive, MANAGE, READ};
use crate::error::Error;

/// The largest chunk an upload may send.
const MAX_CHUNK: usize = 1024 * 1024;
/// The largest content stored in one message.
pub(crate) const MAX_STORE: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct DocumentsApi {
    pub(crate) archive: Arc<Archive>,
}

type Download = Pin<Box<dyn Stream<Item = Result<pb::DownloadDocumentResponse, Status>> + Send>>;

#[tonic::async_trait]
impl DocumentService for DocumentsApi {
    #[tracing::instrument(skip_all)]
    async fn set_kind(
        &self,
        request: Request<pb::SetKindRequest>,
    ) -> Result<Response<pb::SetKindResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let kind = parse::kind(request.get_ref())?;
        Ok(Response::new(self.archive.set_kind(&context, kind).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_kinds(
        &self,
        request: Request<pb::ListKindsRequest>,
    ) -> Result<Response<pb::ListKindsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        Ok(Response::new(self.archive.list_kinds(&context).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn upload_document(
        &self,
        request: Request<Streaming<pb::UploadDocumentRequest>>,
    ) -> Result<Response<pb::UploadDocumentResponse>, Status> {
        let context = RequestContext::of(&request);
        let mut stream = request.into_inner();
        let header = match stream.message().await? {
            Some(pb::UploadDocumentRequest {
                part: Some(UploadPart::Header(header)),
            }) => header,
            _ => {
                return Err(
                    Error::invalid("header", "the first message must be the header").into(),
                );
            }
        };
        let upload = parse::upload(&header)?;
        // A stream's end is not proof the content is whole: HTTP/2 servers may read a client's
        // reset (it went away) as the body's end. The declared size or hash affirms it.
        if upload.size.is_none() && upload.sha256.is_none() {
            return Err(Error::invalid(
                "header.size_bytes",
                "a streamed upload declares its size (or header.sha256)",
            )
            .into());
        }
        let chunks = stream.map(|message| match message {
            Ok(pb::UploadDocumentRequest {
                part: Some(UploadPart::Chunk(bytes)),
            }) if bytes.len() <= MAX_CHUNK => Ok(bytes),
            Ok(pb::UploadDocumentRequest {
                part: Some(UploadPart::Chunk(_)),
            }) => Err(Error::invalid("chunk", "must be at most 1 MiB")),
            Ok(_) => Err(Error::invalid("header", "comes once, in the first message")),
            Err(status) => Err(Error::from(status)),
        });
        Ok(Response::new(
            self.archive
                .upload(&context, &header, upload, chunks)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn store_document(
        &self,
        request: Request<pb::StoreDocumentRequest>,
    ) -> Result<Response<pb::StoreDocumentResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let Some(header) = message.header else {
            return Err(Error::invalid("header", "is required").into());
        };
        if message.content.len() > MAX_STORE {
            return Err(Error::invalid(
                "content",
                "must be at most 8 MiB; larger documents go by UploadDocument",
            )
            .into());
        }
        let upload = parse::upload(&header)?;
        let chunks: Vec<Result<Vec<u8>, Error>> = message
            .content
            .chunks(MAX_CHUNK)
            .map(|chunk| Ok(chunk.to_vec()))
            .collect();
        let stored = self
            .archive
            .upload(&context, &header, upload, futures::stream::iter(chunks))
            .await?;
        Ok(Response::new(pb::StoreDocumentResponse {
            document: stored.document,
        }))
    }

    type DownloadDocumentStream = Download;

    #[tracing::instrument(skip_all)]
    async fn download_document(
        &self,
        request: Request<pb::DownloadDocumentRequest>,
    ) -> Result<Response<Download>, Status> {
        let context = RequestContext::of(&request);
        let wanted = parse::download(request.get_ref())?;
        let (header, chunks) = self.archive.download(&context, wanted).await?;
        let first = futures::stream::once(async move {
            Ok(pb::DownloadDocumentResponse {
                part: Some(DownloadPart::Header(header)),
            })
        });
        let rest = chunks.map(|chunk| {
            chunk
                .map(|bytes| pb::DownloadDocumentResponse {
                    part: Some(DownloadPart::Chunk(bytes)),
                })
                .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(first.chain(rest))))
    }

    #[tracing::instrument(skip_all)]
    async fn get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::GetDocumentResponse>, Status> {
        let context = RequestContext::of(&request);
        let id = parse::id("document_id", &request.get_ref().document_id)?;
        Ok(Response::new(self.archive.get(&context, id).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_patient_documents(
        &self,
        request: Request<pb::ListPatientDocumentsRequest>,
    ) -> Result<Response<pb::ListPatientDocumentsResponse>, Status> {
        let context = RequestContext::of(&request);
        let patient = parse::id("patient_id", &request.get_ref().patient_id)?;
        Ok(Response::new(
            self.archive.patient_documents(&context, patient).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn set_legal_hold(
        &self,
        request: Request<pb::SetLegalHoldRequest>,
    ) -> Result<Response<pb::SetLegalHoldResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::hold(&message)?;
        Ok(Response::new(
            self.archive.set_hold(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_document(
        &self,
        request: Request<pb::DeleteDocumentRequest>,
    ) -> Result<Response<pb::DeleteDocumentResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::delete(&message)?;
        Ok(Response::new(
            self.archive.delete(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn issue_document(
        &self,
        request: Request<pb::IssueDocumentRequest>,
    ) -> Result<Response<pb::IssueDocumentResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::issue(&message)?;
        Ok(Response::new(
            self.archive.issue(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn verify_document(
        &self,
        request: Request<pb::VerifyDocumentRequest>,
    ) -> Result<Response<pb::VerifyDocumentResponse>, Status> {
        let context = RequestContext::of(&request);
        let (version, copy) = parse::verify(request.into_inner())?;
        Ok(Response::new(
            self.archive
                .verify_document(&context, version, copy)
                .await?,
        ))
    }
}
