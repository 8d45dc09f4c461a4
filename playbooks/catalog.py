"""Pulse's built-in playbooks: the motions a customer-success team runs on an account.

Plain data in plain Python, without Django, like `kpis.catalog`: migrations can seed every
tenant from it and tests can check it without a database. Each playbook lists its steps with
a RACI and a due offset (days after the execution starts), the outcomes it should produce,
exit criteria (a data check against the health score or a KPI, or a manual checkbox) and the
default triggers that start or suggest it. KPI keys and thresholds refer to the default KPI
catalog and its reference ranges (critical / healthy anchors), so a playbook never asks for a
number the health engine would score differently.
"""

from dataclasses import dataclass

ROLES = (
    "CSM",
    "CS Manager",
    "Account Executive",
    "Support Lead",
    "Product Manager",
    "Executive Sponsor",
    "Solutions Engineer",
    "Finance",
)
CSM, CS_MANAGER, AE, SUPPORT_LEAD, PM, EXEC_SPONSOR, SE, FINANCE = ROLES


@dataclass(frozen=True)
class Raci:
    responsible: tuple[str, ...]
    accountable: str  # exactly one role
    consulted: tuple[str, ...] = ()
    informed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    title: str
    description: str  # what to do, with what, and what "done" looks like
    raci: Raci
    due_offset_days: int  # days after the execution starts
    required: bool = True


@dataclass(frozen=True)
class ExitCriterion:
    key: str  # snake_case, unique within the playbook
    description: str
    check: dict | None  # a data check (see schemas.CHECKS), or None for a manual checkbox


@dataclass(frozen=True)
class TriggerDefault:
    condition: dict  # see schemas.CONDITIONS
    action: str  # "auto_start" | "suggest"
    cooldown_days: int


@dataclass(frozen=True)
class PlaybookSpec:
    key: str
    name: str
    purpose: str
    when_to_use: str
    expected_duration_days: int
    steps: tuple[Step, ...]
    expected_outcomes: tuple[str, ...]
    exit_criteria: tuple[ExitCriterion, ...]
    triggers: tuple[TriggerDefault, ...]


VOC_SPRINT = PlaybookSpec(
    key="voc_sprint",
    name="VoC Sprint",
    purpose=(
        "Collect structured voice-of-customer feedback from one account in four weeks, turn it into "
        "a short list of themes with revenue attached, get a product answer for each and report back "
        "to the customer what will change."
    ),
    when_to_use=(
        "NPS or CSAT has fallen into the critical range, sentiment in tickets and calls is souring, the "
        "account has stopped answering surveys, or Product is planning a roadmap cycle and needs "
        "evidence from a strategic account."
    ),
    expected_duration_days=30,
    steps=(
        Step(
            title="Frame the sprint and pick the contacts",
            description=(
                "Write down the two or three questions the sprint must answer (e.g. why NPS fell after the "
                "last release) and pick 8–12 contacts from the stakeholder map: economic buyer, admin, power "
                "users and at least one lapsed user. Done when the Product Manager has reviewed the "
                "questions and the contact list is saved on the account."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(PM,)),
            due_offset_days=2,
        ),
        Step(
            title="Send a short survey",
            description=(
                "Send NPS, CSAT and at most three open questions from the CSM's own mailbox, not a no-reply "
                "address, with one reminder after three working days. Done when the survey has been open "
                "for a week and the response rate is logged in Pulse."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(PM,)),
            due_offset_days=5,
        ),
        Step(
            title="Pull the support record",
            description=(
                "Export the last 90 days of tickets, escalations and reopened tickets for the account and "
                "tag each with a theme (bug, missing feature, how-to, performance, billing). Done when the "
                "tagged list and the top three ticket themes are attached to the execution."
            ),
            raci=Raci(responsible=(SUPPORT_LEAD,), accountable=CS_MANAGER, informed=(CSM,)),
            due_offset_days=7,
        ),
        Step(
            title="Interview five to six stakeholders",
            description=(
                "Hold 30-minute interviews with the economic buyer, the admin, two power users and one lapsed "
                "user, using the same five-question guide; the Product Manager joins at least two. Done when "
                "notes with verbatim quotes for every interview are in Pulse within 24 hours of the call."
            ),
            raci=Raci(responsible=(CSM, PM), accountable=CS_MANAGER, informed=(AE,)),
            due_offset_days=14,
        ),
        Step(
            title="Synthesise the findings",
            description=(
                "Cluster survey answers, interview notes and ticket themes into three to five themes, each "
                "with a representative quote, how many sources raised it and the ARR at stake. Done when the "
                "one-page synthesis ranks the themes by severity and the CS Manager has signed it off."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(PM, SUPPORT_LEAD)),
            due_offset_days=18,
        ),
        Step(
            title="Hand the themes to Product",
            description=(
                "File each theme in the product feedback tool linked to the account and its ARR, and review "
                "them with the Product Manager in a 30-minute session. Done when every theme has an answer: "
                "planned with a quarter, under consideration, or not planned with the reason."
            ),
            raci=Raci(responsible=(PM,), accountable=CS_MANAGER, consulted=(CSM,), informed=(AE,)),
            due_offset_days=21,
        ),
        Step(
            title="Close the loop with the customer",
            description=(
                "Send a 'you said, we did' summary to everyone who answered and walk the sponsor through it in "
                "a 30-minute readout, including the themes Product will not address and why. Done when two or "
                "three follow-up actions with owners and dates are agreed with the customer."
            ),
            raci=Raci(
                responsible=(CSM,), accountable=CS_MANAGER, consulted=(PM,), informed=(AE, EXEC_SPONSOR)
            ),
            due_offset_days=26,
        ),
        Step(
            title="Schedule the re-measure",
            description=(
                "Book a two-question pulse survey (NPS plus one open question) 90 days out and add the agreed "
                "actions to the account's success plan. Done when the survey is scheduled and each action "
                "appears on the success plan with its owner."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER),
            due_offset_days=30,
            required=False,
        ),
    ),
    expected_outcomes=(
        "A ranked list of three to five feedback themes with quotes, frequency and ARR at stake.",
        "A written product response for every theme: planned, under consideration or not planned.",
        "The customer has heard back what will change, and which requests will not, within 30 days.",
        "Survey response rate back in the healthy range, giving a trustworthy NPS baseline.",
    ),
    exit_criteria=(
        ExitCriterion(
            key="survey_response_rate_healthy",
            description="Survey response rate is at least 25%, so the NPS and CSAT readings are representative.",
            check={"type": "kpi_at_least", "kpi": "survey_response_rate", "value": 25},
        ),
        ExitCriterion(
            key="product_response_recorded",
            description="Product has answered every theme in the synthesis (planned, considered or not planned).",
            check=None,
        ),
        ExitCriterion(
            key="loop_closed_with_customer",
            description="The 'you said, we did' readout has been held with the sponsor and actions agreed.",
            check=None,
        ),
    ),
    triggers=(
        TriggerDefault(
            condition={"type": "kpi_below", "kpi": "nps", "value": 0}, action="suggest", cooldown_days=120
        ),
        TriggerDefault(
            condition={"type": "kpi_below", "kpi": "csat", "value": 70}, action="suggest", cooldown_days=90
        ),
    ),
)

EXPANSION_TIMING = PlaybookSpec(
    key="expansion_timing",
    name="Expansion Timing",
    purpose=(
        "Decide whether and when to propose an upsell or cross-sell, based on usage evidence and delivered "
        "value rather than the sales calendar, and bring the Account Executive in with a proposal the "
        "customer can justify internally."
    ),
    when_to_use=(
        "The account is healthy and shows expansion signals: seats used above 90% or in overage, new teams "
        "logging in, feature limits being hit, or Pulse raised an expansion-signal insight. Do not run it "
        "while an escalation is open or an invoice is disputed."
    ),
    expected_duration_days=45,
    steps=(
        Step(
            title="Review the usage signals",
            description=(
                "Pull six months of license utilization, active user ratio and feature adoption, plus any seat "
                "overage, plan-limit hits and new departments logging in. Done when a one-page signal summary "
                "shows at least two independent signals, or the execution is closed as 'too early'."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, informed=(AE,)),
            due_offset_days=3,
        ),
        Step(
            title="Check for blockers before selling",
            description=(
                "Confirm there are no open escalations, no KPI in the critical range and no overdue or disputed "
                "invoices. Done when Support and Finance have confirmed the account is clear; if not, pause this "
                "playbook and start Adoption Rescue or Renewal Safeguard instead."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(SUPPORT_LEAD, FINANCE)),
            due_offset_days=5,
        ),
        Step(
            title="Run a whitespace analysis",
            description=(
                "Map the customer's business units, teams and use cases against what they own today (seats, "
                "modules, integrations) and mark each gap with an estimated value and a named contact. Done when "
                "the whitespace map lists the two best opportunities with an estimated deal size."
            ),
            raci=Raci(responsible=(CSM, AE), accountable=AE, consulted=(SE,)),
            due_offset_days=10,
        ),
        Step(
            title="Validate the need with the champion",
            description=(
                "Hold a discovery call with the champion and the lead of the team that would expand, to confirm "
                "the problem, the budget owner, the buying process and the timing. Done when the budget owner and "
                "target decision date are recorded on the opportunity."
            ),
            raci=Raci(responsible=(CSM, AE), accountable=AE, consulted=(SE,)),
            due_offset_days=15,
        ),
        Step(
            title="Write the value recap",
            description=(
                "Quantify what the customer has achieved against its success plan, such as hours saved, tickets "
                "deflected or time-to-report cut, using their own numbers where possible. Done when the champion "
                "has confirmed the figures and is willing to present them to the budget owner."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(AE,)),
            due_offset_days=20,
        ),
        Step(
            title="Build the commercial proposal",
            description=(
                "Draft the proposal with seat counts or modules sized from the usage data, co-termed to the "
                "renewal date, with any discount inside Finance's approval guardrails. Done when the proposal and "
                "a one-slide business case tied to the value recap are approved internally."
            ),
            raci=Raci(
                responsible=(AE,), accountable=AE, consulted=(FINANCE, SE, CSM), informed=(CS_MANAGER,)
            ),
            due_offset_days=30,
        ),
        Step(
            title="Present and agree a mutual action plan",
            description=(
                "Present the value recap and the proposal to the budget owner in a joint CSM and AE meeting and "
                "agree the steps to signature: security review, legal, procurement. Done when a dated mutual action "
                "plan is shared with the customer and the opportunity stage is updated in the CRM."
            ),
            raci=Raci(responsible=(AE, CSM), accountable=AE, informed=(CS_MANAGER, EXEC_SPONSOR)),
            due_offset_days=38,
        ),
        Step(
            title="Plan onboarding of the new scope",
            description=(
                "Once signed, agree a rollout plan for the new seats or modules with the customer's admin, "
                "including training dates and the success metric for the expansion. Done when the rollout plan is "
                "on the success plan and the first training session is booked."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(SE,), informed=(AE,)),
            due_offset_days=45,
            required=False,
        ),
    ),
    expected_outcomes=(
        "An evidence-based go or not-yet decision on expansion, backed by at least two usage signals.",
        "A whitespace map with the two best opportunities and the person who owns each budget.",
        "A proposal sized from actual usage and tied to quantified value the champion has confirmed.",
        "A signed expansion or a recorded reason and revisit date, with no damage to account health.",
    ),
    exit_criteria=(
        ExitCriterion(
            key="account_still_healthy",
            description="The account is still in the healthy band at the end of the commercial conversation.",
            check={"type": "band_is", "band": "healthy"},
        ),
        ExitCriterion(
            key="proposal_presented",
            description="The proposal and value recap were presented to the budget owner in a joint meeting.",
            check=None,
        ),
        ExitCriterion(
            key="decision_recorded",
            description="The outcome is recorded in the CRM: won, lost or deferred with a reason and revisit date.",
            check=None,
        ),
    ),
    triggers=(
        TriggerDefault(
            condition={"type": "insight", "rule": "expansion_signal"}, action="suggest", cooldown_days=90
        ),
        TriggerDefault(
            condition={"type": "kpi_above", "kpi": "license_utilization", "value": 95},
            action="suggest",
            cooldown_days=120,
        ),
    ),
)

RENEWAL_SAFEGUARD = PlaybookSpec(
    key="renewal_safeguard",
    name="Renewal Safeguard",
    purpose=(
        "Secure an at-risk renewal by starting 120 days out: review the risk at 120, 90 and 60 days, align "
        "executives on both sides, agree a success plan for the next term and prepare pricing options with "
        "Finance before procurement sets the terms."
    ),
    when_to_use=(
        "A renewal is within 120 days and the account is in the risk or critical band, Pulse raised a "
        "renewal-risk insight, the champion has left, or the customer has asked for a price reduction or "
        "seat cut ahead of renewal."
    ),
    expected_duration_days=110,
    steps=(
        Step(
            title="120-day risk review",
            description=(
                "Review the health score trend, KPIs in the critical range, open escalations, payment history and "
                "stakeholder changes, and rate the renewal as commit, at risk or likely churn. Done when the risk "
                "rating, main risk drivers and forecast ARR are recorded in Pulse and shared with the AE."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(AE, SUPPORT_LEAD)),
            due_offset_days=3,
        ),
        Step(
            title="Map the decision process",
            description=(
                "Confirm who signs, who influences and who can block: economic buyer, procurement, champion and "
                "any competing-tool owner, and add contacts until at least four people are engaged. Done when the "
                "stakeholder map and the customer's renewal timeline (budget, procurement, legal) are documented."
            ),
            raci=Raci(responsible=(CSM, AE), accountable=AE, informed=(CS_MANAGER,)),
            due_offset_days=10,
        ),
        Step(
            title="Executive alignment call",
            description=(
                "Arrange a call between our Executive Sponsor and the customer's economic buyer covering outcomes "
                "delivered, what is not working and what they need to see to renew. Done when the call has been "
                "held and the customer's renewal conditions are written down and confirmed by email."
            ),
            raci=Raci(responsible=(EXEC_SPONSOR, CSM), accountable=CS_MANAGER, consulted=(AE,)),
            due_offset_days=25,
        ),
        Step(
            title="90-day risk review",
            description=(
                "Re-rate the renewal against the 120-day review, check progress on the customer's renewal "
                "conditions and decide whether to escalate internally. Done when the forecast is updated and any "
                "escalation to the VP of Customer Success has a named owner and a date."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(AE,), informed=(EXEC_SPONSOR,)),
            due_offset_days=30,
        ),
        Step(
            title="Agree a joint success plan",
            description=(
                "Agree three measurable outcomes for the next term with the customer's sponsor, each with a metric, "
                "a target, an owner on both sides and a date, and address the risk drivers from the review. Done when "
                "the sponsor has approved the plan in writing."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(SE, PM), informed=(AE,)),
            due_offset_days=40,
        ),
        Step(
            title="Prepare pricing options with Finance",
            description=(
                "Prepare two or three options, such as a multi-year term with a price lock, seats right-sized to "
                "license utilization, or adjusted payment terms, each within discount guardrails and with a give "
                "for every get. Done when Finance has approved the options and the walk-away floor."
            ),
            raci=Raci(responsible=(AE, FINANCE), accountable=AE, consulted=(CSM, CS_MANAGER)),
            due_offset_days=50,
        ),
        Step(
            title="60-day go/no-go review",
            description=(
                "Review the success plan progress, the exec call outcome and the pricing options together and "
                "decide which option to lead with and whether concessions are needed. Done when the decision, "
                "the approved concessions and the quote date are recorded."
            ),
            raci=Raci(
                responsible=(CSM, AE), accountable=CS_MANAGER, consulted=(FINANCE,), informed=(EXEC_SPONSOR,)
            ),
            due_offset_days=60,
        ),
        Step(
            title="Send the quote and close the renewal",
            description=(
                "Send the renewal quote with the agreed option, track it through procurement and legal, and chase "
                "signature at least two weeks before the renewal date. Done when the order form is signed, or the "
                "churn or downsell is recorded with its reason."
            ),
            raci=Raci(responsible=(AE,), accountable=AE, consulted=(CSM,), informed=(FINANCE, CS_MANAGER)),
            due_offset_days=100,
        ),
    ),
    expected_outcomes=(
        "The renewal risk is rated and forecast accurately from 120 days out, with no late surprises.",
        "Executives on both sides have discussed the renewal and the customer's conditions are written down.",
        "A sponsor-approved success plan for the next term, addressing the drivers of risk.",
        "Pricing options approved by Finance before procurement negotiates, protecting net revenue retention.",
    ),
    exit_criteria=(
        ExitCriterion(
            key="health_recovered",
            description="The health score has recovered to at least 55, out of the critical band.",
            check={"type": "health_at_least", "score": 55},
        ),
        ExitCriterion(
            key="success_plan_signed",
            description="The customer's sponsor has approved the success plan for the next term.",
            check=None,
        ),
        ExitCriterion(
            key="renewal_outcome_recorded",
            description="The renewal is signed, or the churn or downsell is recorded with its reason.",
            check=None,
        ),
    ),
    triggers=(
        TriggerDefault(
            condition={"type": "insight", "rule": "renewal_risk"}, action="auto_start", cooldown_days=90
        ),
        TriggerDefault(
            condition={"type": "renewal_within", "days": 120}, action="suggest", cooldown_days=180
        ),
    ),
)

ONBOARDING_ACCELERATION = PlaybookSpec(
    key="onboarding_acceleration",
    name="Onboarding Acceleration",
    purpose=(
        "Get a stalled onboarding to first value within 30 days and to a healthy onboarding completion "
        "within 60, by finding the blocker, resetting the plan with the customer and unblocking the "
        "technical setup."
    ),
    when_to_use=(
        "A new customer's onboarding completion is below 40% a month after kickoff, the go-live date has "
        "slipped, the integration or SSO setup is stuck, or the customer's project lead has changed."
    ),
    expected_duration_days=60,
    steps=(
        Step(
            title="Diagnose where onboarding is stuck",
            description=(
                "Check onboarding completion step by step, which licensed users have never logged in, and the status "
                "of SSO, user provisioning and data integrations. Done when the blockers are listed and each is "
                "marked as technical, people or process."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(SE,)),
            due_offset_days=2,
        ),
        Step(
            title="Re-kickoff with the customer's project lead",
            description=(
                "Hold a 45-minute reset meeting with the project lead and the admin to confirm the go-live goal, "
                "the three use cases that matter first and who owns each task. Done when a revised onboarding plan "
                "with dates is shared with the customer and accepted by email."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, informed=(AE,)),
            due_offset_days=5,
        ),
        Step(
            title="Technical unblock session",
            description=(
                "Work through SSO, SCIM provisioning, data imports and the priority integrations with the customer's "
                "IT contact in a working session, not by email. Done when every integration in the plan is live and "
                "a test user can complete the first use case end to end."
            ),
            raci=Raci(responsible=(SE,), accountable=CS_MANAGER, consulted=(SUPPORT_LEAD,), informed=(CSM,)),
            due_offset_days=12,
        ),
        Step(
            title="Role-based training",
            description=(
                "Run one admin training and short end-user sessions per team, built around the three agreed use "
                "cases, and share recordings and a one-page guide. Done when at least 70% of invited users attended "
                "or watched a recording."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(SE,)),
            due_offset_days=20,
        ),
        Step(
            title="Reach the first value milestone",
            description=(
                "Get the first agreed use case running in production, such as the first live workflow, report or "
                "dashboard the sponsor asked for. Done when the customer's sponsor confirms in writing that the "
                "milestone is met."
            ),
            raci=Raci(
                responsible=(CSM,), accountable=CS_MANAGER, consulted=(SE,), informed=(AE, EXEC_SPONSOR)
            ),
            due_offset_days=30,
        ),
        Step(
            title="Day-45 adoption check",
            description=(
                "Review active user ratio and onboarding completion by team, and send the champion the list of users "
                "who have not activated yet with a short nudge they can forward. Done when every lagging team has a "
                "named follow-up owner on the customer side."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER),
            due_offset_days=45,
        ),
        Step(
            title="Hand over to the steady-state cadence",
            description=(
                "Write the success plan for the first year, set the monthly check-in and book the first business "
                "review date. Done when Support has the account context and the customer knows who to contact for "
                "what."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, informed=(SUPPORT_LEAD, AE)),
            due_offset_days=60,
        ),
    ),
    expected_outcomes=(
        "The first agreed use case is live in production and confirmed by the sponsor within 30 days.",
        "Onboarding completion in the healthy range (65% or more) within 60 days.",
        "All planned integrations live, with no onboarding blocker older than two weeks.",
        "A success plan and a steady-state cadence in place before the account leaves onboarding.",
    ),
    exit_criteria=(
        ExitCriterion(
            key="onboarding_completion_healthy",
            description="Onboarding completion is at least 65%, the healthy anchor of the KPI.",
            check={"type": "kpi_at_least", "kpi": "onboarding_completion", "value": 65},
        ),
        ExitCriterion(
            key="active_users_out_of_critical",
            description="Active user ratio is at least 40%, so most licensed users have started using the product.",
            check={"type": "kpi_at_least", "kpi": "active_user_ratio", "value": 40},
        ),
        ExitCriterion(
            key="first_value_confirmed",
            description="The customer's sponsor has confirmed in writing that the first value milestone is met.",
            check=None,
        ),
    ),
    triggers=(
        TriggerDefault(
            condition={"type": "kpi_below", "kpi": "onboarding_completion", "value": 40},
            action="auto_start",
            cooldown_days=60,
        ),
    ),
)

ADOPTION_RESCUE = PlaybookSpec(
    key="adoption_rescue",
    name="Adoption Rescue",
    purpose=(
        "Reverse a usage decline before it becomes a renewal problem: find why seats went idle, fix the "
        "product and support blockers, re-enable the lapsed teams and re-engage a champion, then measure "
        "the recovery against the baseline."
    ),
    when_to_use=(
        "Active user ratio or feature adoption has dropped into the critical range, the health score fell "
        "15 points or more in two months, or usage collapsed after a champion left, a reorganisation or a "
        "major release."
    ),
    expected_duration_days=45,
    steps=(
        Step(
            title="Diagnose the usage decline",
            description=(
                "Break down active users and feature adoption by team and feature for the last six months and mark "
                "when the decline started, next to releases, ticket spikes and org changes. Done when a baseline and "
                "a short hypothesis of the cause are recorded on the execution."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(SUPPORT_LEAD,)),
            due_offset_days=3,
        ),
        Step(
            title="Root-cause call with the champion",
            description=(
                "Meet the champion, or the admin if the champion has left, to test the hypothesis: wrong users "
                "licensed, a changed workflow, a competing tool, a training gap or a product defect. Done when the "
                "root causes are confirmed by the customer and ranked by impact."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, informed=(AE,)),
            due_offset_days=7,
        ),
        Step(
            title="Write the rescue plan",
            description=(
                "Turn the root causes into three to five actions, each with an owner on both sides, a date and a "
                "target active user ratio for day 45. Done when the CS Manager has approved the plan and the customer "
                "has agreed to it."
            ),
            raci=Raci(
                responsible=(CSM,), accountable=CS_MANAGER, consulted=(SUPPORT_LEAD, PM), informed=(AE,)
            ),
            due_offset_days=10,
        ),
        Step(
            title="Clear product and support blockers",
            description=(
                "Close or escalate every open ticket tied to the decline and get a fix date or workaround from "
                "Product for defects blocking key workflows. Done when no escalation is open and each product blocker "
                "has a communicated fix date or workaround."
            ),
            raci=Raci(responsible=(SUPPORT_LEAD,), accountable=CS_MANAGER, consulted=(PM,), informed=(CSM,)),
            due_offset_days=20,
        ),
        Step(
            title="Re-enable the lapsed teams",
            description=(
                "Run targeted 30-minute sessions for the teams whose usage dropped, focused on the one workflow they "
                "bought the product for, backed by in-app guides and weekly office hours. Done when every lapsed team "
                "has had a session and its users know where to get help."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(SE,)),
            due_offset_days=25,
        ),
        Step(
            title="Re-engage the sponsor and secure a champion",
            description=(
                "Brief the customer's executive sponsor on the decline and the rescue plan, and ask them to name a "
                "champion if the previous one left. Done when a named champion has accepted the role and the sponsor "
                "has sent an internal message backing the relaunch."
            ),
            raci=Raci(responsible=(CSM, EXEC_SPONSOR), accountable=CS_MANAGER, informed=(AE,)),
            due_offset_days=30,
        ),
        Step(
            title="Measure the recovery and decide",
            description=(
                "Compare active user ratio and feature adoption with the baseline from the diagnosis and report the "
                "result to the customer. Done when the playbook is closed as recovered, or the account is handed to "
                "Renewal Safeguard with the findings attached."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, informed=(AE, EXEC_SPONSOR)),
            due_offset_days=45,
        ),
    ),
    expected_outcomes=(
        "Confirmed root causes of the decline, agreed with the customer rather than guessed.",
        "Active user ratio back above 50% and no KPI left in the critical range.",
        "A named champion and a visible sponsor backing the relaunch internally.",
        "Renewal risk flagged early to the AE if the recovery falls short.",
    ),
    exit_criteria=(
        ExitCriterion(
            key="active_users_recovered",
            description="Active user ratio is back to at least 50%, well above the 40% critical anchor.",
            check={"type": "kpi_at_least", "kpi": "active_user_ratio", "value": 50},
        ),
        ExitCriterion(
            key="no_critical_kpis",
            description="No KPI of the account is left in the critical range.",
            check={"type": "no_kpi_critical"},
        ),
        ExitCriterion(
            key="champion_confirmed",
            description="A named champion at the customer has accepted the role and owns the relaunch.",
            check=None,
        ),
    ),
    triggers=(
        TriggerDefault(
            condition={"type": "kpi_below", "kpi": "active_user_ratio", "value": 40},
            action="auto_start",
            cooldown_days=60,
        ),
        TriggerDefault(
            condition={"type": "score_drop", "points": 15, "months": 2}, action="suggest", cooldown_days=90
        ),
    ),
)

EXECUTIVE_BUSINESS_REVIEW = PlaybookSpec(
    key="executive_business_review",
    name="Executive Business Review",
    purpose=(
        "Prepare and run a forward-looking business review with the customer's executives: prove the value "
        "delivered with their own numbers, agree the goals for the next two quarters and leave with a dated "
        "mutual action plan."
    ),
    when_to_use=(
        "Every six months for strategic accounts, when executive sponsor contact has lapsed to fewer than "
        "one meeting a quarter, or about six months before a renewal so the value story is in place before "
        "the commercial conversation."
    ),
    expected_duration_days=30,
    steps=(
        Step(
            title="Confirm attendees and objectives",
            description=(
                "Book 60 minutes with the customer's executive sponsor and economic buyer, plus our Executive "
                "Sponsor and AE, and ask the customer in advance for their top priorities for the next two quarters. "
                "Done when the invite is accepted by both executives and the priorities are written down."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(AE,), informed=(EXEC_SPONSOR,)),
            due_offset_days=3,
        ),
        Step(
            title="Build the value story",
            description=(
                "Assemble outcomes against the success plan, usage and adoption trends, support performance and a "
                "comparison with industry benchmarks from Pulse into a deck of at most ten slides. Done when every "
                "claim in the deck is backed by a number the customer will recognise."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(SUPPORT_LEAD, SE)),
            due_offset_days=10,
        ),
        Step(
            title="Preview the draft with the champion",
            description=(
                "Walk the champion through the draft to check the numbers, surface sensitivities and learn what the "
                "executives will ask. Done when the champion's corrections are in the deck and there are no surprises "
                "left for the meeting."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER),
            due_offset_days=14,
        ),
        Step(
            title="Internal dry run",
            description=(
                "Rehearse the review with the CS Manager, AE, Executive Sponsor and, for the roadmap section, the "
                "Product Manager, and agree who presents what and the two or three asks (references, expansion, "
                "executive access). Done when the agenda, speakers and asks are final."
            ),
            raci=Raci(responsible=(CSM, AE), accountable=CS_MANAGER, consulted=(EXEC_SPONSOR, PM)),
            due_offset_days=17,
        ),
        Step(
            title="Hold the business review",
            description=(
                "Spend about a fifth of the time on results and the rest on the customer's goals, the roadmap that "
                "serves them and the joint plan; capture decisions live. Done when the customer has agreed goals for "
                "the next two quarters and responded to each of our asks."
            ),
            raci=Raci(responsible=(CSM, EXEC_SPONSOR), accountable=CS_MANAGER, consulted=(AE, PM)),
            due_offset_days=21,
        ),
        Step(
            title="Send the recap and mutual action plan",
            description=(
                "Within 48 hours send both executives a one-page recap with the agreed goals, owners and dates, and "
                "update the account's success plan in Pulse to match. Done when the customer has acknowledged the "
                "recap."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, informed=(AE, EXEC_SPONSOR)),
            due_offset_days=23,
        ),
        Step(
            title="Follow up the commitments",
            description=(
                "Check that every action from the review has started, chase internal owners for their commitments, "
                "and route expansion or reference asks to the AE. Done when the next review date is booked and all "
                "actions are on track or re-planned with the customer."
            ),
            raci=Raci(responsible=(CSM,), accountable=CS_MANAGER, consulted=(AE,), informed=(EXEC_SPONSOR,)),
            due_offset_days=30,
        ),
    ),
    expected_outcomes=(
        "Executive sponsor contact restored to at least one meeting a quarter.",
        "Goals for the next two quarters agreed with the customer's executives and reflected in the success plan.",
        "A value story with the customer's own numbers, ready for the renewal or expansion conversation.",
        "A dated mutual action plan with owners on both sides and the next review booked.",
    ),
    exit_criteria=(
        ExitCriterion(
            key="exec_sponsor_engaged",
            description="At least one executive sponsor meeting is recorded for the current quarter.",
            check={"type": "kpi_at_least", "kpi": "exec_sponsor_meetings", "value": 1},
        ),
        ExitCriterion(
            key="recap_acknowledged",
            description="The customer has acknowledged the recap with the agreed goals, owners and dates.",
            check=None,
        ),
        ExitCriterion(
            key="next_review_booked",
            description="The next executive business review is in both executives' calendars.",
            check=None,
        ),
    ),
    triggers=(
        TriggerDefault(
            condition={"type": "kpi_below", "kpi": "exec_sponsor_meetings", "value": 1},
            action="suggest",
            cooldown_days=90,
        ),
        TriggerDefault(
            condition={"type": "renewal_within", "days": 180}, action="suggest", cooldown_days=180
        ),
    ),
)

DEFAULT_PLAYBOOKS: tuple[PlaybookSpec, ...] = (
    VOC_SPRINT,
    EXPANSION_TIMING,
    RENEWAL_SAFEGUARD,
    ONBOARDING_ACCELERATION,
    ADOPTION_RESCUE,
    EXECUTIVE_BUSINESS_REVIEW,
)


def playbooks_by_key() -> dict[str, PlaybookSpec]:
    return {playbook.key: playbook for playbook in DEFAULT_PLAYBOOKS}
