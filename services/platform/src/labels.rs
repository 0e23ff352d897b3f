//! Enumerations stored as lower-case labels in the database (`text` with a CHECK), declared
//! once with their labels: `as_db`, `from_db`, `ALL`, `Display`, and the database encoding come
//! with them, so a store's row holds the enumeration itself, never a string parsed again.
//!
//! ```
//! hmis_platform::labels!(Urgency { Routine => "routine", Urgent => "urgent" });
//! assert_eq!(Urgency::from_db("urgent"), Some(Urgency::Urgent));
//! assert_eq!(Urgency::Routine.to_string(), "routine");
//! ```

/// What the `labels!` expansion names of sqlx, so the crates declaring labels need not.
#[doc(hidden)]
pub mod __sqlx {
    pub use sqlx::encode::IsNull;
    pub use sqlx::error::BoxDynError;
    pub use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef, Postgres};
    pub use sqlx::{Decode, Encode, Type};
}

/// Declares an enumeration with its stored labels.
#[macro_export]
macro_rules! labels {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_db(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn from_db(value: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|item| item.as_db() == value)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_db())
            }
        }

        impl $crate::labels::__sqlx::Type<$crate::labels::__sqlx::Postgres> for $name {
            fn type_info() -> $crate::labels::__sqlx::PgTypeInfo {
                <&str as $crate::labels::__sqlx::Type<$crate::labels::__sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &$crate::labels::__sqlx::PgTypeInfo) -> bool {
                <&str as $crate::labels::__sqlx::Type<$crate::labels::__sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'q> $crate::labels::__sqlx::Encode<'q, $crate::labels::__sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut $crate::labels::__sqlx::PgArgumentBuffer,
            ) -> Result<$crate::labels::__sqlx::IsNull, $crate::labels::__sqlx::BoxDynError> {
                <&str as $crate::labels::__sqlx::Encode<'q, $crate::labels::__sqlx::Postgres>>::encode(
                    self.as_db(),
                    buf,
                )
            }
        }

        impl<'r> $crate::labels::__sqlx::Decode<'r, $crate::labels::__sqlx::Postgres> for $name {
            fn decode(
                value: $crate::labels::__sqlx::PgValueRef<'r>,
            ) -> Result<Self, $crate::labels::__sqlx::BoxDynError> {
                let label =
                    <&str as $crate::labels::__sqlx::Decode<'r, $crate::labels::__sqlx::Postgres>>::decode(value)?;
                Self::from_db(label).ok_or_else(|| {
                    format!("{label:?} is not a stored {}", stringify!($name)).into()
                })
            }
        }
    };
}
