//! Identity and access over real gRPC: what tokens are refused, lockout, refresh rotation and
//! reuse detection, sessions ended by a password change, service accounts, and which role may
//! call what (the permission matrix).

use crate::support;

use chrono::Utc;
use hmis_platform::auth::{Grant, Principal, Scope};
use hmis_proto::openhmis::core::v1 as pb;
use hmis_proto::openhmis::iam::v1 as iam_pb;
use sqlx::Connection;
use support::{Session, TestApp, USER_PASSWORD, bearer, facility, signed_in};
use tonic::Code;

async fn get_me(app: &TestApp, token: &str) -> Result<iam_pb::GetMeResponse, tonic::Status> {
    app.auth()
        .get_me(bearer(token, iam_pb::GetMeRequest {}))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn missing_tampered_expired_and_foreign_tokens_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let good = app.operator.access_token.clone();
    assert!(get_me(&app, &good).await.is_ok());

    let missing = app
        .auth()
        .get_me(iam_pb::GetMeRequest {})
        .await
        .expect_err("no token");
    assert_eq!(missing.code(), Code::Unauthenticated);

    // Flip one character of the payload: the signature no longer matches.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let payload = &mut parts[1];
    let flipped = if payload.ends_with('A') { 'B' } else { 'A' };
    payload.pop();
    payload.push(flipped);
    let tampered = parts.join(".");
    assert_eq!(
        get_me(&app, &tampered).await.expect_err("tampered").code(),
        Code::Unauthenticated
    );

    // Issued by our own key ring, but an hour ago: expired.
    let principal = Principal {
        expires_at: None,
        user_id: uuid::Uuid::new_v4(),
        tenant_id: app.operator.tenant_id,
        username: "ghost".to_owned(),
        service_account: false,
        session_id: uuid::Uuid::new_v4(),
        grants: vec![Grant {
            permission: "core.read".to_owned(),
            scope: Scope::Tenant,
        }],
    };
    let (expired, _) = app
        .iam
        .key_ring()
        .issue(&principal, Utc::now() - chrono::Duration::hours(1))
        .expect("issue");
    assert_eq!(
        get_me(&app, &expired).await.expect_err("expired").code(),
        Code::Unauthenticated
    );

    // A well-formed token from another deployment's key ring (same kid scheme, other key).
    let other = TestApp::spawn().await;
    let (foreign, _) = other
        .iam
        .key_ring()
        .issue(&principal, Utc::now())
        .expect("issue");
    assert_eq!(
        get_me(&app, &foreign)
            .await
            .expect_err("foreign key")
            .code(),
        Code::Unauthenticated
    );
    // ...while the same token is good where it was issued.
    other
        .facilities()
        .list_facilities(bearer(&foreign, pb::ListFacilitiesRequest::default()))
        .await
        .expect("accepted by the deployment that signed it");

    assert_eq!(
        get_me(&app, "not-a-jwt").await.expect_err("garbage").code(),
        Code::Unauthenticated
    );
    other.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn rotating_the_signing_key_keeps_issued_tokens_valid() {
    let app = TestApp::spawn().await;
    let before = app.operator.access_token.clone();
    let old_kid = app.iam.key_ring().signing_kid().expect("a signing key");
    let new_kid = app
        .iam
        .key_ring()
        .rotate(app.db.database.app_pool(), Utc::now())
        .await
        .expect("rotate");
    assert_ne!(old_kid, new_kid);
    assert!(
        get_me(&app, &before).await.is_ok(),
        "a token of the retired key still verifies"
    );
    let after = app
        .login("OPS", "admin", support::ADMIN_PASSWORD)
        .await
        .expect("sign in");
    assert!(get_me(&app, &after.access_token).await.is_ok());
    app.stop().await;
}

/// The application's database role reads only sealed signing keys, and a key it plants is not
/// trusted: a token signed with it is refused.
#[tokio::test]
async fn the_application_role_can_neither_read_nor_plant_a_signing_key() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    use ed25519_dalek::{Signer, SigningKey};

    let app = TestApp::spawn().await;
    let mut as_app = sqlx::PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("connect");
    sqlx::query("SET ROLE openhmis_app")
        .execute(&mut as_app)
        .await
        .expect("act as the application");
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT private_key FROM iam.signing_keys")
        .fetch_all(&mut as_app)
        .await
        .expect("the application role reads the table");
    assert!(!stored.is_empty());
    for bytes in &stored {
        assert!(
            SigningKey::from_pkcs8_der(bytes).is_err(),
            "a stored signing key is usable as it is"
        );
    }

    // Plant a key of one's own, newest of all, and sign the administrator's claims with it.
    let forged = SigningKey::from_bytes(&[42; 32]);
    let private_key = forged.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec();
    sqlx::query(
        "INSERT INTO iam.signing_keys (kid, private_key, public_key, created_at) \
         VALUES ('k-forged', $1, $2, now() + interval '1 day')",
    )
    .bind(&private_key)
    .bind(forged.verifying_key().to_bytes().to_vec())
    .execute(&mut as_app)
    .await
    .expect("the application role may insert a row");
    let ring = app.iam.key_ring();
    ring.reload(app.db.database.app_pool(), Utc::now())
        .await
        .expect("reload the keys");
    assert_ne!(ring.signing_kid().as_deref(), Some("k-forged"));
    let claims = app
        .operator
        .access_token
        .split('.')
        .nth(1)
        .expect("claims")
        .to_owned();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT","kid":"k-forged"}"#);
    let signed = format!("{header}.{claims}");
    let signature = URL_SAFE_NO_PAD.encode(forged.sign(signed.as_bytes()).to_bytes());
    let refused = get_me(&app, &format!("{signed}.{signature}"))
        .await
        .expect_err("a token signed by a planted key");
    assert_eq!(refused.code(), Code::Unauthenticated);

    // A process given another secret refuses to start rather than rotate the keys in use
    // away from the processes that hold the right one.
    let other = hmis_iam::IamOptions {
        signing_key_secret: Some(hmis_platform::config::Secret::new(
            "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
        )),
        ..hmis_iam::IamOptions::default()
    };
    let refused = hmis_iam::IamModule::new(
        app.db.database.clone(),
        std::sync::Arc::new(hmis_platform::clock::SystemClock),
        &other,
        None,
    )
    .await
    .expect_err("another secret");
    assert!(
        refused.to_string().contains("another signing-key secret"),
        "{refused}"
    );

    // The server's own keys still sign and verify.
    assert!(get_me(&app, &app.operator.access_token).await.is_ok());
    let again = app
        .login("OPS", "admin", support::ADMIN_PASSWORD)
        .await
        .expect("sign in");
    assert!(get_me(&app, &again.access_token).await.is_ok());
    app.stop().await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_say_nothing_more() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    app.add_user(tenant.tenant_id, "jsmith", "registrar", Scope::Tenant)
        .await;
    for _ in 0..5 {
        let wrong = app
            .login("H1", "jsmith", "Wrong-Password-9")
            .await
            .expect_err("wrong password");
        assert_eq!(wrong.code(), Code::Unauthenticated);
    }
    // The right password no longer helps while locked, and the answer is the same.
    let locked = app
        .login("H1", "jsmith", USER_PASSWORD)
        .await
        .expect_err("locked");
    assert_eq!(locked.code(), Code::Unauthenticated);
    let unknown = app
        .login("H1", "nobody", USER_PASSWORD)
        .await
        .expect_err("unknown user");
    assert_eq!(unknown.message(), locked.message());

    let mut owner = sqlx::PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("owner");
    let (failed, locked_for): (i32, f64) = sqlx::query_as(
        "SELECT failed_logins, extract(epoch FROM locked_until - now())::float8 \
         FROM iam.users WHERE username = 'jsmith'",
    )
    .fetch_one(&mut owner)
    .await
    .expect("lock state");
    assert_eq!(failed, 5);
    assert!(
        (20.0..=31.0).contains(&locked_for),
        "locked for {locked_for}s"
    );

    // When the lock has run out, the right password works and the count resets.
    sqlx::query(
        "UPDATE iam.users SET locked_until = now() - interval '1 second' WHERE username = 'jsmith'",
    )
    .execute(&mut owner)
    .await
    .expect("expire the lock");
    app.login("H1", "jsmith", USER_PASSWORD)
        .await
        .expect("signs in after the lock");
    let failed: i32 =
        sqlx::query_scalar("SELECT failed_logins FROM iam.users WHERE username = 'jsmith'")
            .fetch_one(&mut owner)
            .await
            .expect("count");
    assert_eq!(failed, 0);
    app.stop().await;
}

async fn refresh(app: &TestApp, refresh_token: &str) -> Result<iam_pb::Tokens, tonic::Status> {
    app.auth()
        .refresh(iam_pb::RefreshRequest {
            refresh_token: refresh_token.to_owned(),
        })
        .await
        .map(|response| response.into_inner().tokens.expect("tokens"))
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_session() {
    let app = TestApp::spawn().await;
    let session = app
        .login("OPS", "admin", support::ADMIN_PASSWORD)
        .await
        .expect("sign in");
    let second = refresh(&app, &session.refresh_token)
        .await
        .expect("first refresh");
    assert_ne!(second.refresh_token, session.refresh_token);
    assert!(get_me(&app, &second.access_token).await.is_ok());
    let third = refresh(&app, &second.refresh_token)
        .await
        .expect("second refresh");

    // The first token comes back (stolen and replayed): refused, and the whole family ends.
    let reused = refresh(&app, &session.refresh_token)
        .await
        .expect_err("reuse");
    assert_eq!(reused.code(), Code::Unauthenticated);
    let after_reuse = refresh(&app, &third.refresh_token)
        .await
        .expect_err("family revoked");
    assert_eq!(after_reuse.code(), Code::Unauthenticated);

    // Logout ends a session too; other sessions live on.
    let a = app
        .login("OPS", "admin", support::ADMIN_PASSWORD)
        .await
        .expect("sign in");
    let b = app
        .login("OPS", "admin", support::ADMIN_PASSWORD)
        .await
        .expect("sign in");
    app.auth()
        .logout(iam_pb::LogoutRequest {
            refresh_token: a.refresh_token.clone(),
        })
        .await
        .expect("logout");
    assert_eq!(
        refresh(&app, &a.refresh_token)
            .await
            .expect_err("logged out")
            .code(),
        Code::Unauthenticated
    );
    refresh(&app, &b.refresh_token)
        .await
        .expect("other session lives");
    app.stop().await;
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    app.add_user(tenant.tenant_id, "jsmith", "nurse", Scope::Tenant)
        .await;
    let desk = app
        .login("H1", "jsmith", USER_PASSWORD)
        .await
        .expect("desk session");
    let ward = app
        .login("H1", "jsmith", USER_PASSWORD)
        .await
        .expect("ward session");

    let weak = app
        .auth()
        .change_password(signed_in(
            &desk,
            iam_pb::ChangePasswordRequest {
                current_password: USER_PASSWORD.to_owned(),
                new_password: "short".to_owned(),
            },
        ))
        .await
        .expect_err("weak password");
    assert_eq!(support::violated_fields(&weak), ["new_password"]);

    app.auth()
        .change_password(signed_in(
            &desk,
            iam_pb::ChangePasswordRequest {
                current_password: USER_PASSWORD.to_owned(),
                new_password: "Brand-New-Secret-7".to_owned(),
            },
        ))
        .await
        .expect("change password");
    refresh(&app, &desk.refresh_token)
        .await
        .expect("the changing session lives");
    assert_eq!(
        refresh(&app, &ward.refresh_token)
            .await
            .expect_err("other session ended")
            .code(),
        Code::Unauthenticated
    );
    assert!(app.login("H1", "jsmith", USER_PASSWORD).await.is_err());
    app.login("H1", "jsmith", "Brand-New-Secret-7")
        .await
        .expect("new password works");
    app.stop().await;
}

#[tokio::test]
async fn service_accounts_sign_in_with_client_credentials_and_secrets_are_shown_once() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let request = iam_pb::CreateServiceAccountRequest {
        request_id: "sa-1".to_owned(),
        name: "nightly-census".to_owned(),
    };
    let created = app
        .admin()
        .create_service_account(signed_in(&tenant, request.clone()))
        .await
        .expect("create service account")
        .into_inner();
    assert!(!created.client_secret.is_empty());
    let retried = app
        .admin()
        .create_service_account(signed_in(&tenant, request))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retried.client_id, created.client_id);
    assert!(
        retried.client_secret.is_empty(),
        "the secret is not stored in clear"
    );

    app.admin()
        .assign_role(signed_in(
            &tenant,
            iam_pb::AssignRoleRequest {
                request_id: "sa-role".to_owned(),
                assignment: Some(iam_pb::Assignment {
                    user_id: created.user_id.clone(),
                    role_code: "statistician".to_owned(),
                    scope: "tenant".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("assign role");
    let tokens = app
        .auth()
        .login(iam_pb::LoginRequest {
            tenant_code: "H1".to_owned(),
            credentials: Some(iam_pb::login_request::Credentials::Client(
                iam_pb::ClientCredentials {
                    client_id: created.client_id.clone(),
                    client_secret: created.client_secret.clone(),
                },
            )),
        })
        .await
        .expect("client credentials")
        .into_inner()
        .tokens
        .expect("tokens");
    let me = get_me(&app, &tokens.access_token).await.expect("get me");
    assert!(me.service_account);
    assert!(
        me.grants
            .iter()
            .any(|grant| grant.permission == "statistics.read")
    );
    app.stop().await;
}

#[tokio::test]
async fn assignments_outside_their_period_grant_nothing_and_operators_are_not_made_by_admins() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    app.add_user(tenant.tenant_id, "locum", "registrar", Scope::Tenant)
        .await;
    let users = app
        .admin()
        .list_users(signed_in(&tenant, iam_pb::ListUsersRequest::default()))
        .await
        .expect("list users")
        .into_inner()
        .users;
    let locum = users
        .iter()
        .find(|user| user.username == "locum")
        .expect("locum");
    let next_month = Utc::now() + chrono::Duration::days(30);
    app.admin()
        .assign_role(signed_in(
            &tenant,
            iam_pb::AssignRoleRequest {
                request_id: "future".to_owned(),
                assignment: Some(iam_pb::Assignment {
                    user_id: locum.id.clone(),
                    role_code: "physician".to_owned(),
                    scope: "tenant".to_owned(),
                    valid_from: Some(prost_types::Timestamp {
                        seconds: next_month.timestamp(),
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("assign future role");
    let session = app
        .login("H1", "locum", USER_PASSWORD)
        .await
        .expect("sign in");
    let me = get_me(&app, &session.access_token).await.expect("me");
    assert!(
        me.grants
            .iter()
            .any(|grant| grant.permission == "patients.write"),
        "registrar now"
    );
    assert!(
        !me.grants
            .iter()
            .any(|grant| grant.permission == "encounters.prescribe"),
        "physician next month"
    );

    let escalation = app
        .admin()
        .assign_role(signed_in(
            &tenant,
            iam_pb::AssignRoleRequest {
                request_id: "escalate".to_owned(),
                assignment: Some(iam_pb::Assignment {
                    user_id: locum.id.clone(),
                    role_code: "operator".to_owned(),
                    scope: "tenant".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("a tenant administrator cannot make operators");
    assert_eq!(escalation.code(), Code::PermissionDenied);
    app.stop().await;
}

/// The sample of calls the matrix tries, each with the rule that allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    ListFacilities,
    CreateFacility,
    SetBedStateInCardiology,
    SetBedStateInSurgery,
    ListUsers,
    CreateTenant,
}

async fn try_call(app: &TestApp, session: &Session, call: Call, beds: &Beds) -> Code {
    let result = match call {
        Call::ListFacilities => app
            .facilities()
            .list_facilities(signed_in(session, pb::ListFacilitiesRequest::default()))
            .await
            .map(|_| ()),
        Call::CreateFacility => app
            .facilities()
            .create_facility(signed_in(
                session,
                pb::CreateFacilityRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    facility: Some(facility(&format!(
                        "F{}",
                        &uuid::Uuid::new_v4().simple().to_string()[..8]
                    ))),
                },
            ))
            .await
            .map(|_| ()),
        Call::SetBedStateInCardiology | Call::SetBedStateInSurgery => {
            let bed_id = if call == Call::SetBedStateInCardiology {
                &beds.cardiology
            } else {
                &beds.surgery
            };
            let bed = app
                .facilities()
                .get_bed(signed_in(
                    &beds.admin,
                    pb::GetBedRequest { id: bed_id.clone() },
                ))
                .await
                .expect("admin reads the bed")
                .into_inner()
                .bed
                .expect("bed");
            let target = if bed.state == i32::from(pb::BedState::Free) {
                pb::BedState::Cleaning
            } else {
                pb::BedState::Free
            };
            app.facilities()
                .set_bed_state(signed_in(
                    session,
                    pb::SetBedStateRequest {
                        request_id: uuid::Uuid::new_v4().to_string(),
                        bed_id: bed.id.clone(),
                        state: target.into(),
                        etag: bed.etag.clone(),
                        reason: String::new(),
                    },
                ))
                .await
                .map(|_| ())
        }
        Call::ListUsers => app
            .admin()
            .list_users(signed_in(session, iam_pb::ListUsersRequest::default()))
            .await
            .map(|_| ()),
        Call::CreateTenant => app
            .tenants()
            .create_tenant(signed_in(
                session,
                pb::CreateTenantRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    tenant: Some(pb::Tenant {
                        code: format!("T{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
                        name: "Another hospital".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

struct Beds {
    admin: Session,
    cardiology: String,
    surgery: String,
}

async fn ward_with_bed(
    app: &TestApp,
    admin: &Session,
    facility_id: &str,
    code: &str,
) -> (String, String) {
    let mut facilities = app.facilities();
    let ward = facilities
        .create_department(signed_in(
            admin,
            pb::CreateDepartmentRequest {
                request_id: format!("ward-{code}"),
                department: Some(pb::Department {
                    facility_id: facility_id.to_owned(),
                    code: code.to_owned(),
                    name: code.to_owned(),
                    kind: pb::DepartmentKind::Ward.into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("ward")
        .into_inner()
        .department
        .expect("department");
    let room = facilities
        .create_room(signed_in(
            admin,
            pb::CreateRoomRequest {
                request_id: format!("room-{code}"),
                room: Some(pb::Room {
                    department_id: ward.id.clone(),
                    code: "1".to_owned(),
                    name: "Room 1".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("room")
        .into_inner()
        .room
        .expect("room");
    let bed = facilities
        .create_bed(signed_in(
            admin,
            pb::CreateBedRequest {
                request_id: format!("bed-{code}"),
                bed: Some(pb::Bed {
                    room_id: room.id,
                    code: "1".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("bed")
        .into_inner()
        .bed
        .expect("bed");
    (ward.id, bed.id)
}

#[tokio::test]
async fn the_permission_matrix_holds_for_every_demo_role() {
    let app = TestApp::spawn().await;
    let admin = app.create_tenant("H1").await;
    let site = app.create_facility(&admin, "SITE").await;
    let (cardiology_ward, cardiology_bed) = ward_with_bed(&app, &admin, &site.id, "CARD").await;
    let (_, surgery_bed) = ward_with_bed(&app, &admin, &site.id, "SURG").await;
    let beds = Beds {
        admin: admin.clone(),
        cardiology: cardiology_bed,
        surgery: surgery_bed,
    };
    let facility_scope = Scope::Facility(site.id.parse().expect("uuid"));
    let cardiology_scope = Scope::Department(cardiology_ward.parse().expect("uuid"));
    let staff = [
        ("registrar", "registrar", facility_scope),
        ("nurse", "nurse", cardiology_scope),
        ("physician", "physician", facility_scope),
        ("pharmacist", "pharmacist", facility_scope),
        ("statistician", "statistician", Scope::Tenant),
    ];
    for (username, role, scope) in staff {
        app.add_user(admin.tenant_id, username, role, scope).await;
    }

    use Call::*;
    const OK: Code = Code::Ok;
    const NO: Code = Code::PermissionDenied;
    // Provisioning a tenant is for operators only.
    let provision = app
        .admin()
        .provision_tenant(signed_in(
            &admin,
            iam_pb::ProvisionTenantRequest {
                tenant_id: admin.tenant_id.to_string(),
                tenant_code: "H1".to_owned(),
                admin_username: "second".to_owned(),
                admin_password: USER_PASSWORD.to_owned(),
            },
        ))
        .await
        .expect_err("a tenant administrator cannot provision tenants");
    assert_eq!(provision.code(), Code::PermissionDenied);

    let calls = [
        ListFacilities,
        CreateFacility,
        SetBedStateInCardiology,
        SetBedStateInSurgery,
        ListUsers,
        CreateTenant,
    ];
    // Rows: who; columns: the calls above, in order.
    let matrix: [(&str, [Code; 6]); 7] = [
        // The bootstrap administrator: administers its own tenant (OPS) and operates the
        // deployment; H1's beds do not exist for it.
        ("operator", [OK, OK, NO, NO, OK, OK]),
        ("admin", [OK, OK, OK, OK, OK, NO]),
        ("registrar", [OK, NO, NO, NO, NO, NO]),
        ("nurse", [OK, NO, OK, NO, NO, NO]),
        ("physician", [OK, NO, NO, NO, NO, NO]),
        ("pharmacist", [OK, NO, NO, NO, NO, NO]),
        ("statistician", [OK, NO, NO, NO, NO, NO]),
    ];
    let mut mismatches = Vec::new();
    for (who, expected) in matrix {
        let session = match who {
            "operator" => app.operator.clone(),
            "admin" => admin.clone(),
            username => app
                .login("H1", username, USER_PASSWORD)
                .await
                .expect("sign in"),
        };
        for (call, expected) in calls.iter().zip(expected) {
            // A bed of another tenant is not found rather than forbidden; both refuse.
            let got = try_call(&app, &session, *call, &beds).await;
            let refused = |code: Code| matches!(code, Code::PermissionDenied | Code::NotFound);
            let agrees = if expected == OK {
                got == OK
            } else {
                refused(got)
            };
            if !agrees {
                mismatches.push(format!(
                    "{who} {call:?}: expected {expected:?}, got {got:?}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    app.stop().await;
}

/// The catalogue is every module's part, each name once and module-prefixed, and the standard
/// roles a new tenant gets are made of it only; what only the system holds is in no role.
#[tokio::test]
async fn roles_are_made_of_every_modules_permissions_and_nothing_else() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let catalogue = app
        .admin()
        .list_permissions(signed_in(
            &tenant,
            iam_pb::ListPermissionsRequest::default(),
        ))
        .await
        .expect("list permissions")
        .into_inner()
        .permissions;
    let mut names: Vec<&str> = catalogue.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names.len(),
        catalogue.len(),
        "a permission is declared twice"
    );
    for permission in &catalogue {
        assert!(
            permission
                .name
                .starts_with(&format!("{}.", permission.module))
        );
    }
    for module in [
        "core",
        "iam",
        "audit",
        "patients",
        "admissions",
        "encounters",
        "pharmacy",
    ] {
        assert!(
            catalogue.iter().any(|p| p.module == module),
            "no permission of {module}"
        );
    }
    let roles = app
        .admin()
        .list_roles(signed_in(&tenant, iam_pb::ListRolesRequest::default()))
        .await
        .expect("list roles")
        .into_inner()
        .roles;
    assert!(!roles.is_empty());
    for role in &roles {
        for permission in &role.permissions {
            assert!(
                names.contains(&permission.as_str()),
                "{} names {permission}, which no module declares",
                role.code
            );
        }
    }
    let refused = app
        .admin()
        .create_role(signed_in(
            &tenant,
            iam_pb::CreateRoleRequest {
                request_id: "everything".to_owned(),
                role: Some(iam_pb::Role {
                    code: "god".to_owned(),
                    name: "Everything".to_owned(),
                    permissions: vec!["*".to_owned()],
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("the system's own permission is in no role");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
}

/// Revocation takes effect on the next call, not when the access token expires: a disabled
/// user's token and the tokens of a session ended by a reused refresh token are refused at
/// once; the user's other sessions and other users go on.
#[tokio::test]
async fn revoked_sessions_and_disabled_users_are_refused_on_their_next_call() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let nurse = app
        .staff(&tenant, "H1", "nurse", "nurse", Scope::Tenant)
        .await;
    let clerk = app
        .staff(&tenant, "H1", "clerk", "registrar", Scope::Tenant)
        .await;
    assert!(get_me(&app, &nurse.access_token).await.is_ok());

    // A refresh token comes back after it was spent: its whole session ends, access tokens
    // included; another session of the same user lives on.
    let other = app
        .login("H1", "nurse", USER_PASSWORD)
        .await
        .expect("a second session");
    let next = refresh(&app, &nurse.refresh_token).await.expect("refresh");
    refresh(&app, &nurse.refresh_token)
        .await
        .expect_err("a spent refresh token comes back");
    for token in [&nurse.access_token, &next.access_token] {
        let refused = get_me(&app, token).await.expect_err("the session ended");
        assert_eq!(refused.code(), Code::Unauthenticated);
    }
    assert!(get_me(&app, &other.access_token).await.is_ok());

    // Disabled: every session of the user, at once.
    let clerk_id = get_me(&app, &clerk.access_token)
        .await
        .expect("the clerk")
        .user_id;
    app.admin()
        .set_user_status(signed_in(
            &tenant,
            iam_pb::SetUserStatusRequest {
                user_id: clerk_id,
                status: iam_pb::UserStatus::Disabled.into(),
            },
        ))
        .await
        .expect("disable the clerk");
    let refused = get_me(&app, &clerk.access_token)
        .await
        .expect_err("a disabled user's token");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(get_me(&app, &other.access_token).await.is_ok());
    assert!(get_me(&app, &tenant.access_token).await.is_ok());
    app.stop().await;
}

/// A refused sign-in takes as long whatever the reason: a locked account is not told apart
/// from a wrong password by the time its answer takes (both check a password hash).
#[tokio::test]
async fn a_locked_account_answers_as_slowly_as_a_wrong_password() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    app.add_user(tenant.tenant_id, "locked", "registrar", Scope::Tenant)
        .await;
    app.add_user(tenant.tenant_id, "open", "registrar", Scope::Tenant)
        .await;
    let mut owner = sqlx::PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("owner");
    sqlx::query(
        "UPDATE iam.users SET locked_until = now() + interval '1 hour' WHERE username = 'locked'",
    )
    .execute(&mut owner)
    .await
    .expect("lock the account");
    let median = |mut times: Vec<std::time::Duration>| {
        times.sort_unstable();
        times[times.len() / 2]
    };
    let (mut locked, mut wrong) = (Vec::new(), Vec::new());
    // Alternately, so whatever else the machine does weighs on both alike.
    for _ in 0..5 {
        let started = std::time::Instant::now();
        app.login("H1", "locked", USER_PASSWORD)
            .await
            .expect_err("locked");
        locked.push(started.elapsed());
        let started = std::time::Instant::now();
        app.login("H1", "open", "Not-The-Password-1")
            .await
            .expect_err("wrong password");
        wrong.push(started.elapsed());
    }
    let (locked, wrong) = (median(locked), median(wrong));
    assert!(
        locked * 2 >= wrong,
        "a locked account answers in {locked:?}, a wrong password in {wrong:?}"
    );
    app.stop().await;
}

/// Provisioning names a tenant core has, by the code it has, and makes its first
/// administrator once: an unknown id, another tenant's code and a second "first" administrator
/// are refused; repeating the same provisioning changes nothing.
#[tokio::test]
async fn provisioning_checks_the_tenant_and_makes_one_first_administrator() {
    let app = TestApp::spawn().await;
    let tenant = app
        .tenants()
        .create_tenant(signed_in(
            &app.operator,
            pb::CreateTenantRequest {
                request_id: "tenant-north".to_owned(),
                tenant: Some(pb::Tenant {
                    code: "NORTH".to_owned(),
                    name: "North Hospital".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("create the tenant")
        .into_inner()
        .tenant
        .expect("the tenant");
    let provision = |tenant_id: String, code: &str, username: &str| {
        let mut admin = app.admin();
        let request = signed_in(
            &app.operator,
            iam_pb::ProvisionTenantRequest {
                tenant_id,
                tenant_code: code.to_owned(),
                admin_username: username.to_owned(),
                admin_password: USER_PASSWORD.to_owned(),
            },
        );
        async move { admin.provision_tenant(request).await }
    };

    let unknown = provision(uuid::Uuid::new_v4().to_string(), "NORTH", "chief")
        .await
        .expect_err("no tenant has that id");
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert_eq!(support::violated_fields(&unknown), ["tenant_id"]);
    let wrong_code = provision(tenant.id.clone(), "OPS", "chief")
        .await
        .expect_err("another tenant's code");
    assert_eq!(wrong_code.code(), Code::InvalidArgument);
    assert_eq!(support::violated_fields(&wrong_code), ["tenant_code"]);

    let first = provision(tenant.id.clone(), "NORTH", "chief")
        .await
        .expect("provision")
        .into_inner();
    assert!(first.admin_created);
    let again = provision(tenant.id.clone(), "NORTH", "chief")
        .await
        .expect("the same provisioning again")
        .into_inner();
    assert!(!again.admin_created);
    let second = provision(tenant.id.clone(), "NORTH", "usurper")
        .await
        .expect_err("a second first administrator");
    assert_eq!(second.code(), Code::AlreadyExists);
    app.login("NORTH", "chief", USER_PASSWORD)
        .await
        .expect("the first administrator signs in");
    assert!(app.login("NORTH", "usurper", USER_PASSWORD).await.is_err());
    app.stop().await;
}

/// Sign-ins, accepted and refused, and administration changes are on the audit trail of
/// their tenant, naming the account or what was changed.
#[tokio::test]
async fn sign_ins_and_administration_changes_are_on_the_audit_trail() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    app.add_user(tenant.tenant_id, "clerk", "registrar", Scope::Tenant)
        .await;
    app.login("H1", "clerk", "Wrong-Password-9")
        .await
        .expect_err("a wrong password");
    app.login("H1", "nobody", USER_PASSWORD)
        .await
        .expect_err("nobody of that name");
    let clerk = app
        .login("H1", "clerk", USER_PASSWORD)
        .await
        .expect("the clerk signs in");
    let clerk_id = get_me(&app, &clerk.access_token)
        .await
        .expect("the clerk")
        .user_id;
    app.admin()
        .set_user_status(signed_in(
            &tenant,
            iam_pb::SetUserStatusRequest {
                user_id: clerk_id.clone(),
                status: iam_pb::UserStatus::Disabled.into(),
            },
        ))
        .await
        .expect("disable the clerk");
    let mut owner = sqlx::PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("owner");
    let records: Vec<(String, String, Vec<String>)> = sqlx::query_as(
        "SELECT method, outcome, resource_ids FROM audit.records \
         WHERE tenant_id = $1 AND method LIKE '/openhmis.iam.v1.%' ORDER BY id",
    )
    .bind(tenant.tenant_id.as_uuid())
    .fetch_all(&mut owner)
    .await
    .expect("audit records");
    let login = "/openhmis.iam.v1.AuthService/Login";
    let clerk_account = format!("user:{clerk_id}");
    let has = |method: &str, outcome: &str, resource: &str| {
        records.iter().any(|(m, o, resources)| {
            m == method && o == outcome && resources.iter().any(|r| r == resource)
        })
    };
    assert!(has(login, "UNAUTHENTICATED", &clerk_account), "{records:?}");
    assert!(
        has(login, "UNAUTHENTICATED", "username:nobody"),
        "{records:?}"
    );
    assert!(has(login, "OK", &clerk_account), "{records:?}");
    assert!(
        has(
            "/openhmis.iam.v1.AdminService/SetUserStatus",
            "OK",
            &clerk_account
        ),
        "{records:?}"
    );
    app.stop().await;
}
