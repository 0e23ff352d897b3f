//! Enumerations stored as lower-case labels in the database (`text` with a CHECK), declared
//! once with their labels: `as_db`, `from_db`, `ALL` and `Display` come with them.
//!
//! ```
//! hmis_platform::labels!(Urgency { Routine => "routine", Urgent => "urgent" });
//! assert_eq!(Urgency::from_db("urgent"), Some(Urgency::Urgent));
//! assert_eq!(Urgency::Routine.to_string(), "routine");
//! ```

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
    };
}
