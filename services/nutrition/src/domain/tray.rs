//! A patient's tray: the dishes of the diet's menu for the meal, each checked against the
//! patient's allergies and restrictions. A dish with one of them is never served to the
//! patient: the menu's named substitute is, when it is safe, else the first safe recipe of
//! the same course on the diet's menu; with none, the course is left for the kitchen to make
//! by hand.

use std::collections::{BTreeSet, HashMap};

use uuid::Uuid;

use super::Course;

/// What the tray needs of a recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeFacts {
    pub course: Course,
    pub allergens: Vec<String>,
}

impl RecipeFacts {
    /// Whether a patient with `restrictions` may have it.
    pub fn safe_for(&self, restrictions: &BTreeSet<String>) -> bool {
        !self
            .allergens
            .iter()
            .any(|allergen| restrictions.contains(allergen))
    }
}

/// One course of a diet's meal on the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MenuLine {
    pub course: Course,
    pub recipe_id: Uuid,
    pub substitute_id: Option<Uuid>,
}

/// A dish served: the recipe, and the menu's recipe it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub course: Course,
    pub recipe_id: Uuid,
    pub replaces: Option<Uuid>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrayPlan {
    pub served: Vec<Served>,
    /// Courses no recipe of the menu is safe for.
    pub unserved: Vec<Course>,
}

/// The tray of a patient with `restrictions` for `menu`; `candidates` are the recipes of the
/// diet's menu that may stand in, in the order they are proposed.
pub fn tray(
    menu: &[MenuLine],
    recipes: &HashMap<Uuid, RecipeFacts>,
    candidates: &[Uuid],
    restrictions: &BTreeSet<String>,
) -> TrayPlan {
    let safe = |id: &Uuid, course: Course| {
        recipes
            .get(id)
            .is_some_and(|recipe| recipe.course == course && recipe.safe_for(restrictions))
    };
    let mut plan = TrayPlan::default();
    for line in menu {
        if safe(&line.recipe_id, line.course) {
            plan.served.push(Served {
                course: line.course,
                recipe_id: line.recipe_id,
                replaces: None,
            });
            continue;
        }
        let substitute = line
            .substitute_id
            .iter()
            .chain(candidates)
            .find(|id| **id != line.recipe_id && safe(id, line.course));
        match substitute {
            Some(id) => plan.served.push(Served {
                course: line.course,
                recipe_id: *id,
                replaces: Some(line.recipe_id),
            }),
            None => plan.unserved.push(line.course),
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ALLERGENS;
    use proptest::prelude::*;

    fn recipe(course: Course, allergens: &[&str]) -> RecipeFacts {
        RecipeFacts {
            course,
            allergens: allergens.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn a_dish_with_the_patients_allergen_is_replaced_by_the_named_substitute() {
        let (fish, chicken, pasta) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let recipes = HashMap::from([
            (fish, recipe(Course::Main, &["fish"])),
            (chicken, recipe(Course::Main, &[])),
            (pasta, recipe(Course::Side, &["gluten", "eggs"])),
        ]);
        let menu = [
            MenuLine {
                course: Course::Main,
                recipe_id: fish,
                substitute_id: Some(chicken),
            },
            MenuLine {
                course: Course::Side,
                recipe_id: pasta,
                substitute_id: None,
            },
        ];
        let allergic = BTreeSet::from(["fish".to_owned(), "gluten".to_owned()]);
        let plan = tray(&menu, &recipes, &[fish, chicken, pasta], &allergic);
        assert_eq!(
            plan.served,
            vec![Served {
                course: Course::Main,
                recipe_id: chicken,
                replaces: Some(fish)
            }]
        );
        assert_eq!(plan.unserved, vec![Course::Side]);
        let plan = tray(&menu, &recipes, &[], &BTreeSet::new());
        assert_eq!(plan.served.len(), 2);
        assert!(plan.served.iter().all(|dish| dish.replaces.is_none()));
    }

    fn course() -> impl Strategy<Value = Course> {
        prop::sample::select(Course::ALL.to_vec())
    }

    fn allergens() -> impl Strategy<Value = Vec<String>> {
        prop::sample::subsequence(ALLERGENS.to_vec(), 0..4)
            .prop_map(|picked| picked.into_iter().map(str::to_owned).collect())
    }

    /// Recipes with random courses and allergens, a random menu of them (with random
    /// substitutes), and a patient's random restrictions.
    fn kitchen() -> impl Strategy<
        Value = (
            HashMap<Uuid, RecipeFacts>,
            Vec<MenuLine>,
            Vec<Uuid>,
            BTreeSet<String>,
        ),
    > {
        prop::collection::vec((course(), allergens()), 1..24).prop_flat_map(|made| {
            let recipes: HashMap<Uuid, RecipeFacts> = made
                .iter()
                .enumerate()
                .map(|(n, (course, allergens))| {
                    (
                        Uuid::from_u128(n as u128 + 1),
                        RecipeFacts {
                            course: *course,
                            allergens: allergens.clone(),
                        },
                    )
                })
                .collect();
            let ids: Vec<Uuid> = (1..=made.len())
                .map(|n| Uuid::from_u128(n as u128))
                .collect();
            let line = (
                prop::sample::select(ids.clone()),
                prop::option::of(prop::sample::select(ids.clone())),
            );
            (
                Just(recipes),
                prop::collection::vec(line, 1..6),
                prop::sample::subsequence(ids.clone(), 0..ids.len()),
                prop::sample::subsequence(ALLERGENS.to_vec(), 0..5),
            )
                .prop_map(|(recipes, lines, candidates, restricted)| {
                    let menu = lines
                        .into_iter()
                        .map(|(recipe_id, substitute_id)| MenuLine {
                            course: recipes[&recipe_id].course,
                            recipe_id,
                            substitute_id,
                        })
                        .collect();
                    let restrictions = restricted.into_iter().map(str::to_owned).collect();
                    (recipes, menu, candidates, restrictions)
                })
        })
    }

    proptest! {
        #[test]
        fn an_allergen_never_reaches_a_patient_who_has_it(
            (recipes, menu, candidates, restrictions) in kitchen()
        ) {
            let plan = tray(&menu, &recipes, &candidates, &restrictions);
            for dish in &plan.served {
                let served = &recipes[&dish.recipe_id];
                prop_assert!(served.safe_for(&restrictions), "{dish:?} carries an allergen");
                prop_assert_eq!(served.course, dish.course);
            }
            // Every course of the menu is served or handed to the kitchen, never dropped.
            prop_assert_eq!(plan.served.len() + plan.unserved.len(), menu.len());
            // A course is left unserved only when nothing on offer for it was safe.
            let safe = |id: &Uuid, course: Course| {
                recipes[id].course == course && recipes[id].safe_for(&restrictions)
            };
            let hopeless = menu
                .iter()
                .filter(|line| {
                    !safe(&line.recipe_id, line.course)
                        && !line
                            .substitute_id
                            .iter()
                            .chain(&candidates)
                            .any(|id| safe(id, line.course))
                })
                .count();
            prop_assert_eq!(plan.unserved.len(), hopeless);
            // A patient with no restriction gets the menu as written.
            let plain = tray(&menu, &recipes, &candidates, &BTreeSet::new());
            prop_assert!(plain.served.iter().all(|dish| dish.replaces.is_none()));
        }
    }
}
