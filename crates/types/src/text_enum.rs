//! [`text_enum!`]: one declaration for the small closed vocabularies that travel as text —
//! in JSON, in Postgres `text` columns with a `check` constraint, and in logs.

/// Declares an enum whose variants each have one spelling, with `ALL`, `as_str`, `Display`,
/// `FromStr`, serde and (with the `sqlx` feature) a Postgres `text` mapping.
///
/// The spelling is written once per variant, so the Rust name and the wire name can never
/// drift apart; the database's `check` constraint lists the same words.
#[macro_export]
#[doc(hidden)]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(type_name = "text"))]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] #[cfg_attr(feature = "sqlx", sqlx(rename = $text))] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire and database spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::UnknownWord;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == s)
                    .ok_or_else(|| $crate::UnknownWord {
                        vocabulary: stringify!($name),
                        word: s.to_owned(),
                    })
            }
        }
    };
}

/// A string that is not one of a vocabulary's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {vocabulary} `{word}`")]
pub struct UnknownWord {
    /// The enum's name.
    pub vocabulary: &'static str,
    /// What was given.
    pub word: String,
}
