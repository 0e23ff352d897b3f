//! What other modules read of IAM, in domain words: who the caller is, by name ([`Me`]), for
//! what they print and sign in the caller's name. This crate is the one place another module
//! meets IAM's wire types.

use hmis_platform::RequestContext;
use hmis_platform::channel::{CallError, ServiceChannel, answered_id, forwarded};
use hmis_proto::openhmis::iam::v1 as pb;
use pb::auth_service_client::AuthServiceClient;
use uuid::Uuid;

/// The caller, as IAM knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub user_id: Uuid,
    pub username: String,
    /// The name printed for them (their username when IAM has none).
    pub display_name: String,
}

/// A typed client of IAM's sign-in service.
#[derive(Debug, Clone)]
pub struct IamClient {
    auth: AuthServiceClient<ServiceChannel>,
}

impl IamClient {
    /// `channel` serves `openhmis.iam.v1.AuthService`.
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            auth: AuthServiceClient::new(channel),
        }
    }

    /// Who the caller of `context` is.
    pub async fn me(&self, context: &RequestContext) -> Result<Me, CallError> {
        let me = self
            .auth
            .clone()
            .get_me(forwarded(context, pb::GetMeRequest {}))
            .await?
            .into_inner();
        let display_name = match me.display_name.trim() {
            "" => me.username.clone(),
            name => name.to_owned(),
        };
        Ok(Me {
            user_id: answered_id(&me.user_id, "user id")?,
            username: me.username,
            display_name,
        })
    }
}
