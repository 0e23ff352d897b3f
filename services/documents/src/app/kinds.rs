//! The kinds of documents and their retention.

use hmis_platform::RequestContext;
use hmis_proto::openhmis::documents::v1 as pb;

use super::{Archive, record};
use crate::convert;
use crate::error::Result;
use crate::store::{self, KindRow};

impl Archive {
    pub(crate) async fn set_kind(
        &self,
        context: &RequestContext,
        kind: KindRow,
    ) -> Result<pb::SetKindResponse> {
        self.calls
            .transaction(context, async |tx| {
                store::upsert_kind(tx, &kind).await?;
                record(tx, context, &[], self.calls.now()).await?;
                Ok(pb::SetKindResponse {
                    kind: Some(convert::kind_to_pb(&kind)),
                })
            })
            .await
    }

    pub(crate) async fn list_kinds(
        &self,
        context: &RequestContext,
    ) -> Result<pb::ListKindsResponse> {
        self.calls
            .transaction(context, async |tx| {
                let kinds = store::list_kinds(tx).await?;
                Ok(pb::ListKindsResponse {
                    kinds: kinds.iter().map(convert::kind_to_pb).collect(),
                })
            })
            .await
    }
}
