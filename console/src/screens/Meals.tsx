// Meals: the ward's meal order for a day's meal (open until its cut-off, then as sent to the
// kitchen with its amendments), where the nurse orders a patient's diet, records a food
// allergy, takes a meal back or adds extra portions; the trays of the meal with their labels
// (bed, diet, allergies, the dishes, a substitute where a dish has the patient's allergen);
// and, for the kitchen, the day's production sheet and the ingredients issued once from the
// food store through the stock ledger.
import { useEffect, useState } from "preact/hooks";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { client, holds, requestId, type Session } from "../api";
import {
  Course,
  Meal,
  MealOrderStatus,
  NutritionService,
  RestrictionKind,
  type Diet,
  type GetProductionSheetResponse,
  type MealOrder,
  type Tray,
} from "../gen/openhmis/nutrition/v1/nutrition_pb";
import { formatNumber, formatTime, t, today, type Key } from "../i18n";
import { patientName, usePatients } from "../patients";
import { useWards } from "../places";
import { Choice, ErrorMessage, Field, Pick, Section, Table, useAttempt } from "../ui";

const MEALS = [
  [Meal.BREAKFAST, "breakfast"],
  [Meal.LUNCH, "lunch"],
  [Meal.DINNER, "dinner"],
] as const;

const COURSES: Record<Course, Key> = {
  [Course.UNSPECIFIED]: "unknown",
  [Course.SOUP]: "courseSoup",
  [Course.MAIN]: "courseMain",
  [Course.SIDE]: "courseSide",
  [Course.DESSERT]: "courseDessert",
  [Course.DRINK]: "courseDrink",
  [Course.BREAD]: "courseBread",
};

/** The allergen list the kitchen labels by (the contract's codes). */
const ALLERGENS = [
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

export function Meals(props: { session: Session }) {
  const [wards, wardsError] = useWards();
  const [wardId, setWardId] = useState("");
  const ward = wards.find((candidate) => candidate.id === wardId) ?? wards[0];
  const [date, setDate] = useState("");
  const day = date || (ward ? today(ward.timeZone) : "");
  const [meal, setMeal] = useState<Meal>(Meal.LUNCH);
  const [diets, setDiets] = useState<Diet[]>([]);
  const [order, setOrder] = useState<MealOrder | null>(null);
  const [trays, setTrays] = useState<Tray[]>([]);
  const [error, attempt] = useAttempt();
  const [done, setDone] = useState("");
  const [extraDiet, setExtraDiet] = useState("");
  const [extra, setExtra] = useState("1");
  const [extraReason, setExtraReason] = useState("");
  const [restricted, setRestricted] = useState("");
  const [allergen, setAllergen] = useState("fish");
  const [ordering, setOrdering] = useState<Record<string, string>>({});
  const mayOrder = holds(props.session, "nutrition.order");
  const kitchen = holds(props.session, "nutrition.kitchen");
  const zone = ward?.timeZone;

  useEffect(() => {
    void attempt(async () => setDiets((await client(NutritionService).listDiets({})).diets));
  }, []);

  async function load() {
    if (!ward || !day) return;
    await attempt(async () => {
      const nutrition = client(NutritionService);
      const [found, list] = await Promise.all([
        nutrition.getMealOrder({ departmentId: ward.id, day, meal }),
        nutrition.getDistributionList({ departmentId: ward.id, day, meal }),
      ]);
      setOrder(found.order ?? null);
      setTrays(list.trays);
    });
  }

  useEffect(() => {
    void load();
  }, [ward?.id, day, meal]);

  const patientIds = [...new Set((order?.lines ?? []).map((line) => line.patientId).filter(Boolean))];
  const patients = usePatients(patientIds);
  const dietCode = (id: string) => diets.find((diet) => diet.id === id)?.code ?? "";
  const bedOf = (patientId: string) => trays.find((tray) => tray.patientId === patientId)?.bedCode ?? "";
  const onTheOrder = patientIds.filter((id) =>
    (order?.lines ?? []).filter((line) => line.patientId === id).reduce((sum, line) => sum + line.portions, 0) > 0,
  );
  const sent = order?.status === MealOrderStatus.SENT;

  async function adjust(patientId: string, dietId: string, portions: number, reason: string) {
    if (!ward) return;
    const answer = await attempt(() =>
      client(NutritionService).adjustMealOrder({
        requestId: requestId(),
        departmentId: ward.id,
        day,
        meal,
        patientId,
        dietId,
        portions,
        reason,
      }),
    );
    if (answer) {
      setDone(t("mealOrderChanged"));
      await load();
    }
  }

  async function orderDiet(patientId: string) {
    const dietId = ordering[patientId];
    if (!dietId) return;
    const answer = await attempt(() =>
      client(NutritionService).orderDiet({ requestId: requestId(), order: { patientId, dietId } }),
    );
    if (answer) {
      setDone(`${t("dietOrdered")}: ${dietCode(dietId)}`);
      await load();
    }
  }

  async function restrict() {
    const patientId = restricted || onTheOrder[0];
    if (!patientId) return;
    const answer = await attempt(() =>
      client(NutritionService).recordRestriction({
        requestId: requestId(),
        restriction: { patientId, kind: RestrictionKind.ALLERGY, allergen },
      }),
    );
    if (answer) {
      setDone(`${t("restrictionRecorded")}: ${allergen}`);
      await load();
    }
  }

  return (
    <>
      <h1>{t("mealsScreen")}</h1>
      <ErrorMessage error={wardsError} />
      <div class="grid">
        <Pick label={t("ward")} name="ward" value={ward?.id ?? ""} options={wards} onChange={setWardId} />
        <Field label={t("day")} name="meal-day" type="date" value={day} onInput={setDate} />
        <Choice label={t("meal")} name="meal" value={meal} options={MEALS} onChange={setMeal} />
      </div>
      <ErrorMessage error={error} />
      {done && <p role="status">{done}</p>}
      <Section title={t("mealOrder")} id="meal-order">
        {order && (
          <p>
            {sent
              ? `${t("mealSent")} ${order.sentTime ? formatTime(timestampMs(order.sentTime), zone) : ""}`
              : `${t("mealOpenUntil")} ${order.cutoffTime ? formatTime(timestampMs(order.cutoffTime), zone) : ""}`}
            {" · "}
            <span data-testid="meal-totals">
              {order.totals.map((total) => `${total.dietCode}: ${total.portions}`).join(" · ") || t("nobody")}
            </span>
          </p>
        )}
        <Table columns={["bed", "patient", "diet", "portions", "reason", "actions"]}>
          {(order?.lines ?? []).map((line, index) => (
            <tr key={`${line.patientId}-${index}`}>
              <td>{line.patientId ? bedOf(line.patientId) : ""}</td>
              <td>{line.patientId ? patientName(patients, line.patientId) : t("extraPortions")}</td>
              <td>{line.dietCode}</td>
              <td>{line.portions}</td>
              <td>
                {line.amendment ? `${t("amendment")}: ` : ""}
                {line.reason}
              </td>
              <td>
                {mayOrder && line.patientId && line.portions > 0 && !line.amendment && onTheOrder.includes(line.patientId) && (
                  <div role="group">
                    <label class="inline">
                      <span class="visually-hidden">{t("diet")}</span>
                      <select
                        name={`diet-${line.patientId}`}
                        aria-label={`${t("diet")}: ${patientName(patients, line.patientId)}`}
                        value={ordering[line.patientId] ?? ""}
                        onChange={(event) =>
                          setOrdering({ ...ordering, [line.patientId]: (event.target as HTMLSelectElement).value })
                        }
                      >
                        <option value="">{t("diet")}</option>
                        {diets.map((diet) => (
                          <option key={diet.id} value={diet.id}>
                            {diet.code} · {diet.name}
                          </option>
                        ))}
                      </select>
                    </label>
                    <button type="button" class="secondary" onClick={() => void orderDiet(line.patientId)}>
                      {t("orderDiet")}
                    </button>
                    <button
                      type="button"
                      class="secondary"
                      onClick={() => void adjust(line.patientId, "", -1, t("notEating"))}
                    >
                      {t("notEating")}
                    </button>
                  </div>
                )}
              </td>
            </tr>
          ))}
        </Table>
        {mayOrder && (
          <div class="grid">
            <Pick
              label={t("diet")}
              name="extra-diet"
              value={extraDiet || diets[0]?.id || ""}
              options={diets.map((diet) => ({ id: diet.id, name: `${diet.code} · ${diet.name}` }))}
              onChange={setExtraDiet}
            />
            <Field label={t("extraPortions")} name="extra-portions" value={extra} onInput={setExtra} inputMode="numeric" />
            <Field label={t("reason")} name="extra-reason" value={extraReason} onInput={setExtraReason} />
            <button
              type="button"
              onClick={() => void adjust("", extraDiet || diets[0]?.id || "", Number(extra) || 0, extraReason)}
            >
              {t("addPortions")}
            </button>
          </div>
        )}
        {mayOrder && onTheOrder.length > 0 && (
          <div class="grid">
            <Pick
              label={t("patient")}
              name="restricted-patient"
              value={restricted || onTheOrder[0]}
              options={onTheOrder.map((id) => ({ id, name: patientName(patients, id) }))}
              onChange={setRestricted}
            />
            <label>
              {t("allergen")}
              <select
                name="allergen"
                value={allergen}
                onChange={(event) => setAllergen((event.target as HTMLSelectElement).value)}
              >
                {ALLERGENS.map((code) => (
                  <option key={code} value={code}>
                    {code}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" class="secondary" onClick={() => void restrict()}>
              {t("recordRestriction")}
            </button>
          </div>
        )}
      </Section>
      <Section title={t("trays")} id="trays">
        <Table columns={["bed", "patient", "diet", "restrictions", "dishes"]}>
          {trays.map((tray) => (
            <tr key={tray.patientId}>
              <td>{tray.bedCode}</td>
              <td>{patientName(patients, tray.patientId)}</td>
              <td>{tray.dietCode}</td>
              <td>{tray.restrictions.join(", ")}</td>
              <td>
                {tray.nilByMouth
                  ? t("nilByMouth")
                  : [
                      ...tray.dishes.map(
                        (dish) => `${dish.recipeName}${dish.replacesRecipeId ? ` (${t("substitute")})` : ""}`,
                      ),
                      ...tray.unservedCourses.map((course) => `${t(COURSES[course])}: ${t("byHand")}`),
                    ].join(" · ")}
              </td>
            </tr>
          ))}
        </Table>
      </Section>
      {kitchen && ward && <Production facilityId={ward.facilityId} day={day} />}
    </>
  );
}

/** The kitchen's day: recipes' portions per meal, the ingredients, and their issue. */
function Production(props: { facilityId: string; day: string }) {
  const [sheet, setSheet] = useState<GetProductionSheetResponse | null>(null);
  const [error, attempt] = useAttempt();
  const [done, setDone] = useState("");
  const mealName = (value: Meal) => t(MEALS.find(([meal]) => meal === value)?.[1] ?? "unknown");

  async function load() {
    await attempt(async () =>
      setSheet(await client(NutritionService).getProductionSheet({ facilityId: props.facilityId, day: props.day })),
    );
  }

  useEffect(() => {
    void load();
  }, [props.facilityId, props.day]);

  async function issue() {
    const answer = await attempt(() =>
      client(NutritionService).issueIngredients({ requestId: requestId(), facilityId: props.facilityId, day: props.day }),
    );
    if (answer) {
      setDone(`${t("ingredientsIssued")}: ${answer.value.movementIds.length}`);
      await load();
    }
  }

  return (
    <Section title={t("productionSheet")} id="production">
      <ErrorMessage error={error} />
      {done && <p role="status">{done}</p>}
      <Table columns={["meal", "recipe", "portions"]}>
        {(sheet?.recipes ?? []).map((recipe) => (
          <tr key={`${recipe.meal}-${recipe.recipeId}`}>
            <td>{mealName(recipe.meal)}</td>
            <td>{recipe.recipeName}</td>
            <td>{recipe.portions}</td>
          </tr>
        ))}
      </Table>
      <Table columns={["item", "requiredQuantity", "toIssue", "unit"]}>
        {(sheet?.ingredients ?? []).map((ingredient) => (
          <tr key={ingredient.itemId}>
            <td>{ingredient.name}</td>
            <td>{formatNumber(ingredient.required)}</td>
            <td>{formatNumber(ingredient.issued)}</td>
            <td>{ingredient.baseUnit}</td>
          </tr>
        ))}
      </Table>
      {sheet && !sheet.issueTime && (sheet.ingredients.length ?? 0) > 0 && (
        <button type="button" onClick={() => void issue()}>
          {t("issueIngredients")}
        </button>
      )}
      {sheet?.issueTime && <p>{t("alreadyIssued")}</p>}
    </Section>
  );
}
