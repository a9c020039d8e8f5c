// The assessment shown before submit: the policy engine (js/policy.js, the same vectors as
// the server's server/domain/policy.py) applied to the survey's answers.

/** Return the assessment of a draft, or {error} when it cannot be computed on the phone. */
export async function assess({ form, draft, household }) {
  try {
    const policy = await import("./policy.js");
    if (typeof policy.assessSurvey !== "function") throw new Error("policy engine not available");
    return policy.assessSurvey({ form, answers: draft.answers, household, investigatorIds: draft.investigator_ids });
  } catch (error) {
    return { error: error.message || String(error) };
  }
}
