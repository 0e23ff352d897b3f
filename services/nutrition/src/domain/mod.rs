//! The kitchen's and the wards' rules as plain values: diets and their daily targets, the
//! allergen list, the day of the cycle menu, a patient's tray (the menu's dishes, each one
//! the patient may not have replaced by a safe substitute or left for the kitchen to make by
//! hand), the amendment a late change makes to a sent meal order, and an ingredient's
//! quantity rounded up to its unit of issue. No transport, no database.

mod tray;

pub use tray::*;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use uuid::Uuid;

hmis_platform::labels!(
    DietKind {
        Table => "table",
        Texture => "texture",
        Special => "special",
        NilByMouth => "nil_by_mouth",
    }
);

hmis_platform::labels!(
    /// The meals of a day, in the order they are served.
    Meal {
        Breakfast => "breakfast",
        Lunch => "lunch",
        Dinner => "dinner",
    }
);

hmis_platform::labels!(
    RestrictionKind {
        Allergy => "allergy",
        Intolerance => "intolerance",
        Religious => "religious",
        Personal => "personal",
    }
);

hmis_platform::labels!(
    OrderSource {
        Ordered => "ordered",
        Operation => "operation",
    }
);

hmis_platform::labels!(
    Course {
        Soup => "soup",
        Main => "main",
        Side => "side",
        Dessert => "dessert",
        Drink => "drink",
        Bread => "bread",
    }
);

hmis_platform::labels!(
    /// A meal order's line: a patient's portion (kept by the module from who is in the ward
    /// and their diet) or a nurse's adjustment (extra portions, a meal taken away).
    LineKind {
        Patient => "patient",
        Adjustment => "adjustment",
    }
);

/// Meals and courses sort in the order they are served.
macro_rules! served_in_order {
    ($($name:ident),+) => {$(
        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                (*self as u8).cmp(&(*other as u8))
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
    )+};
}

served_in_order!(Meal, Course);

/// The codes a restriction and an ingredient name: the 14 allergens food labels declare,
/// then foods restricted for religious or personal reasons.
pub const ALLERGENS: &[&str] = &[
    "gluten",
    "crustaceans",
    "eggs",
    "fish",
    "peanuts",
    "soy",
    "milk",
    "nuts",
    "celery",
    "mustard",
    "sesame",
    "sulphites",
    "lupin",
    "molluscs",
    "pork",
    "beef",
    "meat",
    "alcohol",
];

/// Whether `code` is on the allergen list.
pub fn is_allergen(code: &str) -> bool {
    ALLERGENS.contains(&code)
}

/// Words a food allergy is written with in the medical record, and the allergen each is.
const ALLERGEN_WORDS: &[(&str, &str)] = &[
    ("wheat", "gluten"),
    ("coeliac", "gluten"),
    ("celiac", "gluten"),
    ("shrimp", "crustaceans"),
    ("prawn", "crustaceans"),
    ("crab", "crustaceans"),
    ("lobster", "crustaceans"),
    ("shellfish", "crustaceans"),
    ("egg", "eggs"),
    ("peanut", "peanuts"),
    ("soya", "soy"),
    ("lactose", "milk"),
    ("dairy", "milk"),
    ("cheese", "milk"),
    ("walnut", "nuts"),
    ("hazelnut", "nuts"),
    ("almond", "nuts"),
    ("cashew", "nuts"),
    ("pistachio", "nuts"),
    ("sulphite", "sulphites"),
    ("sulfite", "sulphites"),
    ("mussel", "molluscs"),
    ("oyster", "molluscs"),
    ("squid", "molluscs"),
];

/// The allergen a food allergy of the medical record names ("Peanut butter" is peanuts,
/// "lactose intolerance" milk), if its words name one of the list.
pub fn allergen_of(text: &str) -> Option<&'static str> {
    let text = text.to_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|word| !word.is_empty())
        .collect();
    words.iter().find_map(|word| {
        ALLERGENS
            .iter()
            .copied()
            .find(|code| code == word)
            .or_else(|| {
                let singular = word.strip_suffix('s').unwrap_or(word);
                ALLERGEN_WORDS
                    .iter()
                    .find(|(said, _)| *said == singular || said == word)
                    .map(|(_, code)| *code)
            })
    })
}

/// The longest cycle menu, in days.
pub const MAX_CYCLE_DAYS: i32 = 28;

/// The day of a cycle menu (1-based) that `day` falls on, the cycle's day 1 being `start`
/// (days before the start count back through the cycle).
pub fn cycle_day(start: NaiveDate, length: i32, day: NaiveDate) -> i32 {
    let length = i64::from(length.max(1));
    let offset = (day - start).num_days().rem_euclid(length);
    i32::try_from(offset).unwrap_or(0) + 1
}

/// What one portion of a recipe brings, or what a day's menu adds up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nutrients {
    pub energy_kcal: i32,
    pub protein_g: i32,
    pub fat_g: i32,
    pub carbohydrate_g: i32,
    pub sodium_mg: i32,
}

impl std::ops::AddAssign for Nutrients {
    fn add_assign(&mut self, other: Self) {
        self.energy_kcal = self.energy_kcal.saturating_add(other.energy_kcal);
        self.protein_g = self.protein_g.saturating_add(other.protein_g);
        self.fat_g = self.fat_g.saturating_add(other.fat_g);
        self.carbohydrate_g = self.carbohydrate_g.saturating_add(other.carbohydrate_g);
        self.sodium_mg = self.sodium_mg.saturating_add(other.sodium_mg);
    }
}

/// A diet's daily targets; 0 where it sets none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Targets {
    pub energy_kcal_min: i32,
    pub energy_kcal_max: i32,
    pub protein_g_min: i32,
    pub fat_g_max: i32,
    pub carbohydrate_g_max: i32,
    pub sodium_mg_max: i32,
}

/// A target a day's menu misses: its name, the target, and what the menu brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miss {
    pub target: &'static str,
    pub target_value: i32,
    pub menu_value: i32,
}

/// The targets `day` misses (nothing when the diet sets none).
pub fn missed_targets(targets: &Targets, day: &Nutrients) -> Vec<Miss> {
    let checks = [
        (
            "energy_kcal_min",
            targets.energy_kcal_min,
            day.energy_kcal,
            true,
        ),
        (
            "energy_kcal_max",
            targets.energy_kcal_max,
            day.energy_kcal,
            false,
        ),
        ("protein_g_min", targets.protein_g_min, day.protein_g, true),
        ("fat_g_max", targets.fat_g_max, day.fat_g, false),
        (
            "carbohydrate_g_max",
            targets.carbohydrate_g_max,
            day.carbohydrate_g,
            false,
        ),
        ("sodium_mg_max", targets.sodium_mg_max, day.sodium_mg, false),
    ];
    checks
        .into_iter()
        .filter(|&(_, target, value, minimum)| {
            target > 0
                && if minimum {
                    value < target
                } else {
                    value > target
                }
        })
        .map(|(target, target_value, menu_value, _)| Miss {
            target,
            target_value,
            menu_value,
        })
        .collect()
}

/// The lines to add to a sent meal order for one patient so it says what is now expected:
/// `current` is the patient's portions per diet on the order so far (net of amendments),
/// `expected` the diet the patient should now have there (none: not in the ward).
pub fn amendment(current: &BTreeMap<Uuid, i32>, expected: Option<Uuid>) -> Vec<(Uuid, i32)> {
    let mut wanted: BTreeMap<Uuid, i32> = current.keys().map(|diet| (*diet, 0)).collect();
    if let Some(diet) = expected {
        wanted.insert(diet, 1);
    }
    wanted
        .into_iter()
        .filter_map(|(diet, want)| {
            let delta = want - current.get(&diet).copied().unwrap_or(0);
            (delta != 0).then_some((diet, delta))
        })
        .collect()
}

/// `required` rounded up to a whole number of `step`s (both in ten-thousandths of a base
/// unit): what is issued of an ingredient.
pub fn round_up(required: i64, step: i64) -> i64 {
    if step <= 0 || required <= 0 {
        return required.max(0);
    }
    let whole = required / step + i64::from(required % step != 0);
    whole.saturating_mul(step)
}

/// A quantity in ten-thousandths of a base unit, as a decimal ("1.25").
pub fn decimal(scaled: i64) -> String {
    let sign = if scaled < 0 { "-" } else { "" };
    let value = scaled.unsigned_abs();
    hmis_platform::amount::trim_scale(&format!("{sign}{}.{:04}", value / 10_000, value % 10_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(value: &str) -> NaiveDate {
        NaiveDate::parse_from_str(value, "%Y-%m-%d").expect("day")
    }

    #[test]
    fn a_food_allergy_of_the_record_names_its_allergen() {
        assert_eq!(allergen_of("Peanuts"), Some("peanuts"));
        assert_eq!(allergen_of("peanut butter"), Some("peanuts"));
        assert_eq!(allergen_of("Lactose intolerance"), Some("milk"));
        assert_eq!(allergen_of("fish (cod)"), Some("fish"));
        assert_eq!(allergen_of("boiled eggs"), Some("eggs"));
        assert_eq!(allergen_of("strawberries"), None);
    }

    #[test]
    fn the_cycle_day_wraps_both_ways() {
        let start = day("2027-03-01");
        assert_eq!(cycle_day(start, 14, start), 1);
        assert_eq!(cycle_day(start, 14, day("2027-03-14")), 14);
        assert_eq!(cycle_day(start, 14, day("2027-03-15")), 1);
        assert_eq!(cycle_day(start, 14, day("2027-02-28")), 14);
    }

    #[test]
    fn targets_missed_are_named_with_both_values() {
        let targets = Targets {
            energy_kcal_min: 1800,
            sodium_mg_max: 2000,
            ..Targets::default()
        };
        let day = Nutrients {
            energy_kcal: 1500,
            sodium_mg: 2300,
            ..Nutrients::default()
        };
        let missed = missed_targets(&targets, &day);
        assert_eq!(
            missed,
            vec![
                Miss {
                    target: "energy_kcal_min",
                    target_value: 1800,
                    menu_value: 1500
                },
                Miss {
                    target: "sodium_mg_max",
                    target_value: 2000,
                    menu_value: 2300
                },
            ]
        );
        assert!(missed_targets(&Targets::default(), &day).is_empty());
    }

    #[test]
    fn an_amendment_moves_a_portion_between_diets_or_takes_it_away() {
        let (general, diabetic) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let on_general = BTreeMap::from([(general, 1)]);
        assert_eq!(
            amendment(&on_general, Some(diabetic)),
            vec![(general, -1), (diabetic, 1)]
        );
        assert_eq!(amendment(&on_general, None), vec![(general, -1)]);
        assert!(amendment(&on_general, Some(general)).is_empty());
        assert_eq!(
            amendment(&BTreeMap::new(), Some(general)),
            vec![(general, 1)]
        );
    }

    #[test]
    fn issues_round_up_to_the_unit_of_issue() {
        assert_eq!(round_up(12_500, 5_000), 15_000);
        assert_eq!(round_up(15_000, 5_000), 15_000);
        assert_eq!(round_up(1, 10_000), 10_000);
        assert_eq!(round_up(0, 10_000), 0);
        assert_eq!(decimal(15_000), "1.5");
        assert_eq!(decimal(120_000), "12");
    }
}
