//! The cash desk: a cashier's shift, payments and deposits with gap-free receipt numbers,
//! refunds that never exceed what was paid, and the closing report that balances to the cent.

use chrono::Datelike;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::money::Money;
use hmis_platform::types::Text;
use hmis_proto::openhmis::billing::v1 as pb;

use super::*;
use crate::convert::{payment_to_pb, refund_to_pb, shift_report};
use crate::domain::{PaymentKind, PaymentMethod};
use crate::error::Error;
use crate::store::{self, PaymentRow, RefundRow, ShiftRow};

/// What an OpenShift call asks for, parsed.
#[derive(Debug)]
pub(crate) struct NewShift {
    pub(crate) key: RequestKey,
    pub(crate) desk: String,
    pub(crate) opening_float: Money,
}

/// What a RecordPayment call asks for, parsed.
#[derive(Debug)]
pub(crate) struct NewPayment {
    pub(crate) key: RequestKey,
    pub(crate) shift_id: Uuid,
    pub(crate) account_id: Uuid,
    pub(crate) kind: PaymentKind,
    pub(crate) method: PaymentMethod,
    pub(crate) amount: Money,
    pub(crate) confirmation_id: Option<String>,
}

/// What a RefundPayment call asks for, parsed.
#[derive(Debug)]
pub(crate) struct NewRefund {
    pub(crate) key: RequestKey,
    pub(crate) shift_id: Uuid,
    pub(crate) payment_id: Uuid,
    pub(crate) amount: Money,
    pub(crate) method: Option<PaymentMethod>,
    pub(crate) reason: Text,
}

/// What a CloseShift call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Closing {
    pub(crate) key: RequestKey,
    pub(crate) shift_id: Uuid,
    pub(crate) counted_cash: Money,
}

/// The caller's own open shift `shift_id`, held against closing for the transaction.
async fn own_open_shift(
    tx: &mut TenantTx,
    context: &RequestContext,
    shift_id: Uuid,
    exclusive: bool,
) -> Result<ShiftRow> {
    let shift = match store::hold_shift(tx, shift_id, exclusive).await {
        Err(Error::NotFound(_)) => return Err(Error::invalid("shift_id", "was not found")),
        found => found?,
    };
    if shift.cashier_id != context.user_id() {
        return Err(Error::invalid("shift_id", "is another cashier's shift"));
    }
    if shift.closed_at.is_some() {
        return Err(Error::precondition("the shift is closed; open a new one"));
    }
    Ok(shift)
}

impl Billing {
    pub(crate) async fn open_shift(
        &self,
        context: &RequestContext,
        message: &pb::OpenShiftRequest,
        new: NewShift,
    ) -> Result<pb::OpenShiftResponse> {
        let now = self.calls.now();
        let row = ShiftRow {
            id: Uuid::now_v7(),
            cashier_id: context.user_id(),
            desk: new.desk,
            opening_float: new.opening_float,
            opened_at: now,
            closed_at: None,
            counted_cash: None,
        };
        let method = method("OpenShift");
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                store::insert_shift(tx, &row).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::OpenShiftResponse {
                    shift: Some(crate::convert::shift_to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn open_shift_of_caller(
        &self,
        context: &RequestContext,
    ) -> Result<pb::GetOpenShiftResponse> {
        self.calls
            .transaction(context, async |tx| {
                let shift = store::open_shift_of(tx, context.user_id()).await?;
                Ok(pb::GetOpenShiftResponse {
                    shift: shift.as_ref().map(crate::convert::shift_to_pb),
                })
            })
            .await
    }

    pub(crate) async fn record_payment(
        &self,
        context: &RequestContext,
        message: &pb::RecordPaymentRequest,
        new: NewPayment,
    ) -> Result<pb::RecordPaymentResponse> {
        let now = self.calls.now();
        let method = method("RecordPayment");
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                own_open_shift(tx, context, new.shift_id, false).await?;
                let account = named_account(tx, new.account_id).await?;
                // The receipt series' row lock orders the payments of the tenant, so a
                // confirmation already applied is seen here; the unique constraint stands
                // behind it.
                let receipt_number =
                    store::next_number(tx, store::Series::Receipts, now.year()).await?;
                if let Some(confirmation) = &new.confirmation_id
                    && let Some(applied) = store::payment_by_confirmation(tx, confirmation).await?
                {
                    if applied.account_id != account.id || applied.amount != new.amount {
                        return Err(Error::invalid(
                            "confirmation_id",
                            "was already applied to another payment",
                        ));
                    }
                    return Err(Error::AlreadyApplied(Box::new(payment_to_pb(&applied))));
                }
                let row = PaymentRow {
                    id: Uuid::now_v7(),
                    account_id: account.id,
                    shift_id: new.shift_id,
                    kind: new.kind,
                    method: new.method,
                    amount: new.amount,
                    refunded: Money::ZERO,
                    receipt_number,
                    confirmation_id: new.confirmation_id.clone(),
                    cashier_id: context.user_id(),
                    paid_at: now,
                };
                store::insert_payment(tx, &row).await?;
                record(tx, context, &[account.patient_id], now).await?;
                Ok(pb::RecordPaymentResponse {
                    payment: Some(payment_to_pb(&row)),
                    already_applied: false,
                })
            })
            .await
            .or_else(|error| match error {
                // A confirmation applied before answers that payment; nothing was written.
                Error::AlreadyApplied(payment) => Ok(pb::RecordPaymentResponse {
                    payment: Some(*payment),
                    already_applied: true,
                }),
                error => Err(error),
            })
    }

    pub(crate) async fn refund_payment(
        &self,
        context: &RequestContext,
        message: &pb::RefundPaymentRequest,
        new: NewRefund,
    ) -> Result<pb::RefundPaymentResponse> {
        let now = self.calls.now();
        let method = method("RefundPayment");
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                own_open_shift(tx, context, new.shift_id, false).await?;
                let payment = match store::get_payment(tx, new.payment_id).await {
                    Err(Error::NotFound(_)) => {
                        return Err(Error::invalid("payment_id", "was not found"));
                    }
                    found => found?,
                };
                let account = store::lock_account(tx, payment.account_id).await?;
                let receipt_number =
                    store::next_number(tx, store::Series::Receipts, now.year()).await?;
                let row = RefundRow {
                    id: Uuid::now_v7(),
                    payment_id: payment.id,
                    shift_id: new.shift_id,
                    method: new.method.unwrap_or(payment.method),
                    amount: new.amount,
                    reason: new.reason.as_str().to_owned(),
                    receipt_number,
                    cashier_id: context.user_id(),
                    refunded_at: now,
                };
                store::insert_refund(tx, &row, account.id).await?;
                record(tx, context, &[account.patient_id], now).await?;
                Ok(pb::RefundPaymentResponse {
                    refund: Some(refund_to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn close_shift(
        &self,
        context: &RequestContext,
        message: &pb::CloseShiftRequest,
        closing: Closing,
    ) -> Result<pb::CloseShiftResponse> {
        let now = self.calls.now();
        let method = method("CloseShift");
        self.calls
            .write(context, &method, &closing.key, message, async |tx| {
                let mut shift = own_open_shift(tx, context, closing.shift_id, true).await?;
                let (totals, payments, refunds) = store::shift_totals(tx, shift.id).await?;
                store::close_shift(tx, shift.id, closing.counted_cash, &totals, now).await?;
                record(tx, context, &[], now).await?;
                shift.closed_at = Some(now);
                shift.counted_cash = Some(closing.counted_cash);
                Ok(pb::CloseShiftResponse {
                    report: Some(shift_report(&shift, &totals, payments, refunds)),
                })
            })
            .await
    }

    pub(crate) async fn shift_report(
        &self,
        context: &RequestContext,
        shift_id: Uuid,
    ) -> Result<pb::GetShiftReportResponse> {
        self.calls
            .transaction(context, async |tx| {
                let shift = store::get_shift(tx, shift_id).await?;
                let (live, payments, refunds) = store::shift_totals(tx, shift.id).await?;
                // A closed shift answers with the report it was closed with.
                let totals = if shift.closed_at.is_some() {
                    store::kept_totals(tx, shift.id).await?
                } else {
                    live
                };
                Ok(pb::GetShiftReportResponse {
                    report: Some(shift_report(&shift, &totals, payments, refunds)),
                })
            })
            .await
    }
}
