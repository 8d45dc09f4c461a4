"""Pulse's built-in product content: the default KPI catalog, playbook advice and benchmarks.

It is plain data in plain Python, without Django, so migrations can seed every tenant from
it, the demo generator can build on it and tests can check it without a database. Each KPI
carries a reference range (worst → 0, critical → 40, healthy → 70, best → 100 points) that
the health engine scores against; the advice and the benchmarks are written against the
same ranges, so the three never tell a customer-success manager contradictory things.
"""

from dataclasses import dataclass

from kpis.scoring import ANCHOR_SCORES

CATEGORIES = ["Product Usage", "Support", "Sentiment/VoC", "Financial", "Relationship"]
USAGE, SUPPORT, SENTIMENT, FINANCIAL, RELATIONSHIP = CATEGORIES
INDUSTRIES = ["Software", "Healthcare", "Financial Services", "Manufacturing", "Retail", "Education"]


@dataclass(frozen=True)
class CatalogKpi:
    key: str
    name: str
    category: str
    unit: str
    direction: str  # "higher" (higher is better) | "lower"
    impact: str  # "high" | "medium" | "low"
    weight: float  # 0.5–2.0, relative weight inside its category
    frequency: str  # "monthly" | "quarterly"
    worst: float
    critical: float
    healthy: float
    best: float
    min_value: float
    max_value: float
    description: str

    def value_at_score(self, score: float) -> float:
        """The value that scores `score` points; beyond 0 or 100 the outer segments extend linearly."""
        values = (self.worst, self.critical, self.healthy, self.best)
        segment = next((i for i in (0, 1) if score <= ANCHOR_SCORES[i + 1]), 2)
        (score_a, score_b), (value_a, value_b) = (
            ANCHOR_SCORES[segment : segment + 2],
            values[segment : segment + 2],
        )
        return value_a + (value_b - value_a) * (score - score_a) / (score_b - score_a)


@dataclass(frozen=True)
class BestPractice:
    kpi_key: str | None  # None: advice for the category as a whole
    category: str
    band: str  # "risk" | "critical"
    title: str
    advice: str


@dataclass(frozen=True)
class IndustryBenchmark:
    industry: str
    kpi_key: str
    p25: float
    median: float
    p75: float


DEFAULT_KPIS = [
    # Product Usage
    CatalogKpi(
        key="active_user_ratio",
        name="Active user ratio",
        category=USAGE,
        unit="%",
        direction="higher",
        impact="high",
        weight=2.0,
        frequency="monthly",
        worst=10,
        critical=40,
        healthy=65,
        best=90,
        min_value=0,
        max_value=100,
        description="Share of licensed users active in the month; the most direct sign that the product is part of the customer's daily work.",
    ),
    CatalogKpi(
        key="feature_adoption",
        name="Feature adoption",
        category=USAGE,
        unit="%",
        direction="higher",
        impact="high",
        weight=1.5,
        frequency="monthly",
        worst=5,
        critical=25,
        healthy=45,
        best=75,
        min_value=0,
        max_value=100,
        description="Share of the product's key features the account uses regularly; broad adoption makes the product hard to replace.",
    ),
    CatalogKpi(
        key="dau_mau_ratio",
        name="DAU/MAU stickiness",
        category=USAGE,
        unit="%",
        direction="higher",
        impact="medium",
        weight=1.0,
        frequency="monthly",
        worst=2,
        critical=10,
        healthy=20,
        best=45,
        min_value=0,
        max_value=100,
        description="Daily active users divided by monthly active users; shows whether logging in is a daily habit or an occasional visit.",
    ),
    CatalogKpi(
        key="license_utilization",
        name="License utilization",
        category=USAGE,
        unit="%",
        direction="higher",
        impact="high",
        weight=1.5,
        frequency="monthly",
        worst=20,
        critical=50,
        healthy=75,
        best=95,
        min_value=0,
        max_value=150,
        description="Active seats as a share of purchased seats (above 100% means overage); idle licences are the first thing procurement cuts at renewal.",
    ),
    CatalogKpi(
        key="onboarding_completion",
        name="Onboarding completion",
        category=USAGE,
        unit="%",
        direction="higher",
        impact="medium",
        weight=1.0,
        frequency="monthly",
        worst=10,
        critical=40,
        healthy=65,
        best=90,
        min_value=0,
        max_value=100,
        description="Share of newly provisioned users who finish onboarding within 30 days; users who never reach first value rarely become active.",
    ),
    # Support
    CatalogKpi(
        key="ticket_volume",
        name="Support ticket volume",
        category=SUPPORT,
        unit="tickets/month",
        direction="lower",
        impact="medium",
        weight=1.0,
        frequency="monthly",
        worst=60,
        critical=30,
        healthy=12,
        best=2,
        min_value=0,
        max_value=1000,
        description="Support tickets opened in the month; a rising volume points to product friction or missing enablement.",
    ),
    CatalogKpi(
        key="time_to_resolution",
        name="Time to resolution",
        category=SUPPORT,
        unit="hours",
        direction="lower",
        impact="high",
        weight=1.5,
        frequency="monthly",
        worst=120,
        critical=48,
        healthy=24,
        best=4,
        min_value=0,
        max_value=2160,
        description="Average hours from ticket creation to resolution; long waits on blocking issues erode trust quickly.",
    ),
    CatalogKpi(
        key="first_response_time",
        name="First response time",
        category=SUPPORT,
        unit="hours",
        direction="lower",
        impact="medium",
        weight=1.0,
        frequency="monthly",
        worst=48,
        critical=12,
        healthy=4,
        best=0.5,
        min_value=0,
        max_value=720,
        description="Average hours until the first human reply to a ticket; customers judge support responsiveness mostly on this first contact.",
    ),
    CatalogKpi(
        key="escalation_rate",
        name="Escalation rate",
        category=SUPPORT,
        unit="%",
        direction="lower",
        impact="high",
        weight=1.5,
        frequency="monthly",
        worst=30,
        critical=15,
        healthy=7,
        best=1,
        min_value=0,
        max_value=100,
        description="Share of tickets escalated to engineering or management; frequent escalations signal serious defects or frustrated users.",
    ),
    CatalogKpi(
        key="reopened_ticket_rate",
        name="Reopened tickets",
        category=SUPPORT,
        unit="%",
        direction="lower",
        impact="low",
        weight=0.75,
        frequency="monthly",
        worst=25,
        critical=12,
        healthy=6,
        best=1,
        min_value=0,
        max_value=100,
        description="Share of resolved tickets the customer reopened; shows whether problems are really fixed the first time.",
    ),
    # Sentiment/VoC
    CatalogKpi(
        key="nps",
        name="Net Promoter Score",
        category=SENTIMENT,
        unit="score",
        direction="higher",
        impact="high",
        weight=2.0,
        frequency="quarterly",
        worst=-50,
        critical=0,
        healthy=30,
        best=70,
        min_value=-100,
        max_value=100,
        description="Promoters minus detractors among the account's survey respondents; a leading indicator of renewals and referrals.",
    ),
    CatalogKpi(
        key="csat",
        name="Customer satisfaction (CSAT)",
        category=SENTIMENT,
        unit="%",
        direction="higher",
        impact="high",
        weight=1.5,
        frequency="monthly",
        worst=50,
        critical=70,
        healthy=85,
        best=98,
        min_value=0,
        max_value=100,
        description="Share of satisfied ratings on support and service interactions; captures how individual touchpoints feel to users.",
    ),
    CatalogKpi(
        key="survey_response_rate",
        name="Survey response rate",
        category=SENTIMENT,
        unit="%",
        direction="higher",
        impact="low",
        weight=0.5,
        frequency="quarterly",
        worst=2,
        critical=10,
        healthy=25,
        best=50,
        min_value=0,
        max_value=100,
        description="Share of surveyed contacts who answer; silence often precedes disengagement and makes every other sentiment figure less reliable.",
    ),
    CatalogKpi(
        key="sentiment_score",
        name="Sentiment score",
        category=SENTIMENT,
        unit="score",
        direction="higher",
        impact="medium",
        weight=1.0,
        frequency="monthly",
        worst=20,
        critical=45,
        healthy=60,
        best=85,
        min_value=0,
        max_value=100,
        description="Tone of emails, calls and tickets from 0 (hostile) to 100 (enthusiastic); surfaces frustration before it shows up in surveys.",
    ),
    CatalogKpi(
        key="feedback_submissions",
        name="Product feedback submissions",
        category=SENTIMENT,
        unit="count",
        direction="higher",
        impact="low",
        weight=0.5,
        frequency="monthly",
        worst=0,
        critical=1,
        healthy=3,
        best=8,
        min_value=0,
        max_value=500,
        description="Feature requests and product feedback submitted in the month; engaged customers say what they need, disengaged ones go quiet.",
    ),
    # Financial
    CatalogKpi(
        key="payment_delay_days",
        name="Payment delay",
        category=FINANCIAL,
        unit="days",
        direction="lower",
        impact="high",
        weight=1.5,
        frequency="monthly",
        worst=90,
        critical=30,
        healthy=10,
        best=0,
        min_value=0,
        max_value=365,
        description="Average days invoices are paid after their due date; late payment often reflects budget pressure or unspoken dissatisfaction.",
    ),
    CatalogKpi(
        key="expansion_revenue",
        name="Expansion revenue",
        category=FINANCIAL,
        unit="%",
        direction="higher",
        impact="medium",
        weight=1.0,
        frequency="quarterly",
        worst=0,
        critical=3,
        healthy=10,
        best=30,
        min_value=0,
        max_value=500,
        description="Upsell and cross-sell revenue of the trailing twelve months as a share of ARR; customers expand when they see value.",
    ),
    CatalogKpi(
        key="net_revenue_retention",
        name="Net revenue retention",
        category=FINANCIAL,
        unit="%",
        direction="higher",
        impact="high",
        weight=2.0,
        frequency="quarterly",
        worst=70,
        critical=90,
        healthy=100,
        best=125,
        min_value=0,
        max_value=300,
        description="Current ARR as a share of ARR twelve months ago, after expansion, contraction and downgrades; the clearest financial read on an account.",
    ),
    CatalogKpi(
        key="discount_rate",
        name="Discount rate",
        category=FINANCIAL,
        unit="%",
        direction="lower",
        impact="low",
        weight=0.75,
        frequency="quarterly",
        worst=40,
        critical=25,
        healthy=15,
        best=0,
        min_value=0,
        max_value=100,
        description="Average discount off list price on the current contract; deep discounts weaken the value story and invite price-driven churn.",
    ),
    CatalogKpi(
        key="invoice_disputes",
        name="Invoice disputes",
        category=FINANCIAL,
        unit="count",
        direction="lower",
        impact="medium",
        weight=1.0,
        frequency="monthly",
        worst=4,
        critical=2,
        healthy=1,
        best=0,
        min_value=0,
        max_value=50,
        description="Invoices the customer disputed in the month; disputes point to billing errors or contract misunderstandings that sour renewals.",
    ),
    # Relationship
    CatalogKpi(
        key="exec_sponsor_meetings",
        name="Executive sponsor engagement",
        category=RELATIONSHIP,
        unit="meetings/quarter",
        direction="higher",
        impact="high",
        weight=1.5,
        frequency="quarterly",
        worst=0,
        critical=1,
        healthy=2,
        best=4,
        min_value=0,
        max_value=30,
        description="Meetings with the customer's executive sponsor per quarter; renewals are decided by executives, not by daily users.",
    ),
    CatalogKpi(
        key="qbr_attendance",
        name="QBR attendance",
        category=RELATIONSHIP,
        unit="%",
        direction="higher",
        impact="medium",
        weight=1.0,
        frequency="quarterly",
        worst=20,
        critical=50,
        healthy=75,
        best=100,
        min_value=0,
        max_value=100,
        description="Share of invited customer stakeholders who attend quarterly business reviews; shows whether the customer still values the strategic conversation.",
    ),
    CatalogKpi(
        key="champion_strength",
        name="Champion strength",
        category=RELATIONSHIP,
        unit="score",
        direction="higher",
        impact="high",
        weight=1.5,
        frequency="quarterly",
        worst=1,
        critical=4,
        healthy=7,
        best=10,
        min_value=0,
        max_value=10,
        description="The CSM's 0–10 rating of the main champion's influence, advocacy and tenure; a strong champion defends the product in internal budget fights.",
    ),
    CatalogKpi(
        key="outreach_response_days",
        name="Response time to outreach",
        category=RELATIONSHIP,
        unit="days",
        direction="lower",
        impact="medium",
        weight=1.0,
        frequency="monthly",
        worst=14,
        critical=7,
        healthy=3,
        best=0.5,
        min_value=0,
        max_value=365,
        description="Average days the customer takes to answer CSM outreach; slowing replies are an early sign of disengagement.",
    ),
    CatalogKpi(
        key="multi_threading",
        name="Multi-threading",
        category=RELATIONSHIP,
        unit="contacts",
        direction="higher",
        impact="medium",
        weight=1.25,
        frequency="monthly",
        worst=1,
        critical=2,
        healthy=4,
        best=8,
        min_value=0,
        max_value=500,
        description="Customer contacts actively engaged with your team in the month; a single-threaded account is at risk the day that one person leaves.",
    ),
]


def kpis_by_key() -> dict[str, CatalogKpi]:
    return {kpi.key: kpi for kpi in DEFAULT_KPIS}


# (title, advice) per KPI and band; the category comes from the KPI so it cannot disagree.
_KPI_ADVICE: dict[str, dict[str, tuple[str, str]]] = {
    "active_user_ratio": {
        "risk": (
            "Re-engage dormant seats",
            "Pull the list of licensed users with no login in 30 days and send it to your champion with an offer of a 30-minute refresher for their teams. Pair it with an in-app message pointing at the workflow those users were bought for, then re-measure after four weeks.",
        ),
        "critical": (
            "Run an adoption rescue",
            "Within two weeks, meet the champion and the sponsor to agree why most seats are idle: wrong users, a missing integration or a competing tool. Write a 60-day adoption plan with named owners and a target ratio. Flag the account to the renewal owner now rather than at renewal time.",
        ),
    },
    "feature_adoption": {
        "risk": (
            "Introduce the next feature that serves their goal",
            "Check which of the account's stated success goals depend on features they have not touched. Demo exactly one of them to the power users in a 20-minute session and follow up with a recording and a one-page guide; broad feature tours rarely change behaviour.",
        ),
        "critical": (
            "Reset the use case",
            "Usage is confined to a narrow slice of the product, so the value story at renewal will be thin. Hold a use-case review with the champion, map their current processes to the product and pick two features to roll out this quarter with a hands-on workshop.",
        ),
    },
    "dau_mau_ratio": {
        "risk": (
            "Build a daily habit",
            "Find the one recurring task users could do in the product every day, such as a review queue, a dashboard or alerts, and set it up for them. Switch on digests or notifications that bring users back, and compare stickiness by team to see where the habit is missing.",
        ),
        "critical": (
            "Find out why users only drop by",
            "Interview three to five users this month about what they use instead of the product. If the work happens in another tool, prioritise the integration that brings it in, and share the findings with product management with the account's ARR attached.",
        ),
    },
    "license_utilization": {
        "risk": (
            "Fill unused licences before they become a downgrade",
            "Send the admin a seat report listing unassigned and inactive licences. Offer to help provision the teams that were in the original rollout plan, so the renewal conversation is about growth rather than right-sizing.",
        ),
        "critical": (
            "Get ahead of the right-sizing conversation",
            "With most seats idle, expect procurement to cut licences at renewal. Agree a dated rollout plan for the remaining teams, or propose a smaller tier with a path back up; a customer who feels oversold churns, while one who is right-sized often expands later.",
        ),
    },
    "onboarding_completion": {
        "risk": (
            "Tighten new-user onboarding",
            "Find the step where new users drop out of onboarding and fix that first blocker, often SSO provisioning or missing sample data. Ask the admin to add the onboarding path to their internal new-starter checklist.",
        ),
        "critical": (
            "Take onboarding back into your hands",
            "Most new users never finish onboarding, so they never reach first value. Run live onboarding cohorts every two weeks until completion is back above 65%, and check that the account still has an admin who owns provisioning; a departed admin is a common cause.",
        ),
    },
    "ticket_volume": {
        "risk": (
            "Find the pattern behind the tickets",
            "Group the last 60 days of tickets by topic and find the top three causes. Turn repeated how-to questions into a short training session or knowledge-base links for the customer, and raise recurring defects with product, citing ticket numbers.",
        ),
        "critical": (
            "Hold a support review with the customer",
            "A volume this high usually means a core workflow is failing or the customer is poorly enabled. Go through the top issues with the champion and their support lead within two weeks and agree fixes with dates. Assign a named support engineer until volume is back in the healthy range.",
        ),
    },
    "time_to_resolution": {
        "risk": (
            "Chase ageing tickets",
            "Review every ticket open longer than two days with the support lead each week. Tell the customer what blocks each one and when they will hear next; tickets waiting on engineering need an owner and an ETA, not silence.",
        ),
        "critical": (
            "Escalate resolution internally",
            "Slow resolution is eroding trust faster than any feature can rebuild it. Put the account on the support escalation list, review its open tickets daily until the backlog clears, and send the customer a written status twice a week. Check with support management whether SLA credits are owed.",
        ),
    },
    "first_response_time": {
        "risk": (
            "Check routing and coverage",
            "Confirm the account's tickets land in the right queue and that its time zone is covered. Make sure the customer files tickets through the portal rather than emailing individuals, which bypasses the SLA clock.",
        ),
        "critical": (
            "Fix the first response now",
            "Customers who wait a day for any reply assume nobody is listening. Route the account to a priority queue and have the CSM acknowledge high-severity tickets personally until response times recover. Check that the support plan matches what the customer believes they bought.",
        ),
    },
    "escalation_rate": {
        "risk": (
            "Understand why tickets escalate",
            "Classify last quarter's escalated tickets: product defect, missing tier-1 expertise or customer pressure. Give tier 1 runbooks for the recurring topics and tell the champion which fixes are coming.",
        ),
        "critical": (
            "Open an executive escalation review",
            "This many escalations means the customer's issues are serious or routinely mishandled. Set up a joint review between your support director and their sponsor, agree a remediation plan and report progress every two weeks. Hold expansion conversations until this is under control.",
        ),
    },
    "reopened_ticket_rate": {
        "risk": (
            "Confirm fixes before closing",
            "Ask support to confirm the fix with the requester instead of closing tickets on silence. Review the reopened tickets for incomplete fixes or misunderstood requests, and add a short resolution summary to every closed ticket.",
        ),
        "critical": (
            "Audit the quality of resolutions",
            "Many tickets come back, so the customer is doing your quality assurance. Have a senior support engineer review every ticket reopened last month and take the root causes to engineering. Tell the customer what changed so they see the pattern is taken seriously.",
        ),
    },
    "nps": {
        "risk": (
            "Close the loop with passives and detractors",
            "Call every detractor and a sample of passives within a week of the survey and ask what would raise their score by two points. Log the themes for product and support, and tell respondents what you changed; closing the loop lifts the next score more than any campaign.",
        ),
        "critical": (
            "Treat detractors as a churn signal",
            "Most respondents at this account would not recommend you, which usually precedes churn. Take the verbatims and a recovery plan to the executive sponsor, and ask to meet the most vocal detractor; resolving one visible complaint can shift a whole team's sentiment.",
        ),
    },
    "csat": {
        "risk": (
            "Review low-rated interactions",
            "Read every interaction rated unsatisfied last month and note whether the answer, the speed or the tone was the problem. Share the findings with the support lead and follow up personally with the customers behind the lowest ratings.",
        ),
        "critical": (
            "Repair the support experience",
            "Users at this account are routinely unhappy with their interactions. Assign a dedicated support contact, review all open cases with the champion and agree what a good outcome looks like for each. Re-survey after the fixes to confirm the change.",
        ),
    },
    "survey_response_rate": {
        "risk": (
            "Make surveys easier to answer",
            "Cut the survey to two questions and send it at a moment of value, such as right after a QBR or a resolved ticket. Ask the champion to tell their team that the survey matters and that you act on it.",
        ),
        "critical": (
            "Collect feedback in conversations instead",
            "Almost nobody answers your surveys, so you are blind on sentiment. Book short feedback calls with three to five users this month and log the findings as voice-of-customer notes; check usage and relationship KPIs too, because silence often means disengagement.",
        ),
    },
    "sentiment_score": {
        "risk": (
            "Dig into the negative conversations",
            "Read the emails, calls and tickets that pulled the sentiment score down and find their common theme. Raise it with the champion before they raise it with you, and note it in the account plan so the whole team knows.",
        ),
        "critical": (
            "Have a candid health conversation",
            "Communication with this account has turned clearly negative. Ask the sponsor for a meeting whose only agenda is what is not working, listen more than you talk, and send a written summary with commitments within 48 hours. Bring your manager so the customer sees a senior person has heard them.",
        ),
    },
    "feedback_submissions": {
        "risk": (
            "Invite product feedback",
            "Customers who stop giving feedback have often stopped expecting you to act on it. Invite the power users to a roadmap preview, ask what they would change, and answer every submission with what will happen to it.",
        ),
        "critical": (
            "Reopen the feedback channel",
            "This account has gone silent on product feedback. Ask the champion directly whether the product still fits their plans, offer a session with a product manager, and show requests from this account that have already shipped.",
        ),
    },
    "payment_delay_days": {
        "risk": (
            "Find out why payments slip",
            "Check with finance whether the delay is administrative, such as a wrong PO or missing vendor set-up, or deliberate. Fix administrative causes directly with the customer's accounts-payable contact; raise a deliberate delay with the champion as the sentiment signal it is.",
        ),
        "critical": (
            "Talk to the customer before collections does",
            "Invoices this late usually mean a budget problem or a dispute the customer has not voiced. Speak to the sponsor before the dunning process escalates, agree a payment plan if needed, and coordinate with finance so the customer hears one voice.",
        ),
    },
    "expansion_revenue": {
        "risk": (
            "Identify the next expansion",
            "Map the teams and use cases in the account that are not yet covered and which of them your champion can influence. Propose a small pilot for one of them with clear success criteria, timed right after a visible win rather than at renewal.",
        ),
        "critical": (
            "Check there is still room to grow",
            "No expansion in a year often means the account is saturated or quietly dissatisfied. Review whether usage would justify more seats or modules; if it does not, focus on value realisation first, and ask the sponsor directly about their plans for the next twelve months.",
        ),
    },
    "net_revenue_retention": {
        "risk": (
            "Protect the base before upselling",
            "Revenue from this account is flat or shrinking through downgrades. Find out which products or seats were cut and why, and rebuild the value case for them before proposing anything new.",
        ),
        "critical": (
            "Run a save plan",
            "The account is losing a large share of its revenue. Agree a save plan with sales leadership: executive outreach, a value review with the ROI delivered so far, and a clear offer if the customer is about to leave. Record the churn reasons whatever the outcome.",
        ),
    },
    "discount_rate": {
        "risk": (
            "Sell value, not price",
            "Discounts above the norm train the customer to negotiate harder at every renewal. Prepare an ROI summary before the next commercial conversation, and trade longer terms or prepayment rather than more discount off list price.",
        ),
        "critical": (
            "Plan the path back to list price",
            "The account pays far below list, which limits what you can invest in it and sets up a price shock later. Agree with sales a multi-year plan that steps the discount down alongside delivered value, and make sure the discount is not compensating for a product gap.",
        ),
    },
    "invoice_disputes": {
        "risk": (
            "Resolve billing questions fast",
            "Work with finance to settle each open dispute within five business days and explain the outcome in writing. Check that the invoice matches what the customer was told at signing; one unexplained charge can undo months of goodwill.",
        ),
        "critical": (
            "Reconcile the contract with billing",
            "Repeated disputes suggest the contract, the order form and the invoices do not line up. Reconcile them line by line with finance and the customer's procurement contact, and fix the root cause in the billing system before the renewal invoice goes out.",
        ),
    },
    "exec_sponsor_meetings": {
        "risk": (
            "Schedule sponsor time",
            "Book a 30-minute check-in with the executive sponsor this quarter about their business goals, not product updates. Bring one metric that shows progress towards those goals and ask whom else in their leadership team you should know.",
        ),
        "critical": (
            "Re-establish executive sponsorship",
            "No executive is engaged, so the renewal rests on people without budget authority. Ask your own executive to reach out peer to peer and ask the champion who owns the budget today; if the sponsor has left, treat the renewal like a new sale.",
        ),
    },
    "qbr_attendance": {
        "risk": (
            "Make QBRs worth attending",
            "Send a short agenda and pre-read built around the customer's goals a week ahead. Spend the meeting on outcomes, risks and next quarter's plan instead of product demos, and ask the champion which invitees are missing and why.",
        ),
        "critical": (
            "Replace the QBR with a sponsor meeting",
            "Stakeholders are skipping business reviews, so you are losing the forum where value gets confirmed. Replace the next QBR with a shorter one-to-one meeting with the sponsor, and rebuild the full review once you know what they want from it.",
        ),
    },
    "champion_strength": {
        "risk": (
            "Strengthen your champion",
            "Give the champion material that makes them look good internally: a results summary they can forward, early roadmap access or a speaking slot in a customer story. Check whether their role or influence has changed recently, and identify a second potential champion as backup.",
        ),
        "critical": (
            "Find a new champion",
            "Your main contact lacks the influence or the will to advocate for you, or has left. Ask the power users and the sponsor who now owns the initiative and invest in that person with enablement and a success plan; do not go into a renewal without a champion.",
        ),
    },
    "outreach_response_days": {
        "risk": (
            "Make outreach worth answering",
            "Slow replies often mean your messages are not relevant to the recipient. Tie every outreach to a specific outcome with a specific ask, and try another channel or contact if one person is the bottleneck.",
        ),
        "critical": (
            "Treat silence as a risk",
            "The customer no longer answers within a working week, a common early sign of churn. Try the sponsor, other contacts and your own executive, since one of them usually replies, and log every attempt so the account team knows the history.",
        ),
    },
    "multi_threading": {
        "risk": (
            "Add contacts beyond the champion",
            "Too few people at the account know you, so one departure could cost the renewal. Ask the champion to introduce you to the admin, a power user and a finance contact this quarter, and invite them to QBRs and product previews.",
        ),
        "critical": (
            "Remove the single-thread risk",
            "The account hinges on one or two people. Map the org chart with your sales counterpart and plan outreach to at least three new contacts, each with a reason that matters to them; team-specific training is a low-friction way in.",
        ),
    },
}

_CATEGORY_ADVICE: dict[str, dict[str, tuple[str, str]]] = {
    USAGE: {
        "risk": (
            "Tie usage back to outcomes",
            "When several usage indicators slip together, the customer has usually lost sight of why they bought. Revisit the success plan with the champion, pick one outcome to prove in the next 60 days, and report the result back to the sponsor.",
        ),
        "critical": (
            "Launch an adoption recovery plan",
            "Broad usage decline is the strongest early churn signal. Within two weeks, agree the causes, a 90-day adoption plan and a monthly checkpoint with the champion and the sponsor, and brief the renewal owner and your manager now.",
        ),
    },
    SUPPORT: {
        "risk": (
            "Review the account's support experience",
            "Go through this account's tickets, response times and escalations with your support lead every month. Send the customer a short summary so they see someone is watching, and push recurring product issues to engineering with the revenue at stake.",
        ),
        "critical": (
            "Put the account under support watch",
            "Support problems at this level overshadow every other conversation. Assign a named support owner, review open issues weekly with the customer until the backlog clears, and ask engineering for dated fixes to the top defects.",
        ),
    },
    SENTIMENT: {
        "risk": (
            "Listen before you pitch",
            "Sentiment is sliding, so pause upsell outreach and run short listening calls with the champion and two users. Capture their words verbatim and act visibly on one point within a month.",
        ),
        "critical": (
            "Run an executive listening session",
            "The customer's voice has turned clearly negative. Arrange a session between your executive and theirs with a single agenda item, what must change for the partnership to work, and follow up in writing with owners and dates.",
        ),
    },
    FINANCIAL: {
        "risk": (
            "Check commercial health with finance",
            "Review this account's payments, disputes and discounts with your finance team every month. Raise any friction with the champion early, before it reaches procurement at renewal.",
        ),
        "critical": (
            "Align sales, finance and CS on one commercial plan",
            "The commercial relationship is under strain. Agree one plan across sales, finance and customer success covering open invoices, renewal pricing and the value story, and name a single owner who talks to the customer about money.",
        ),
    },
    RELATIONSHIP: {
        "risk": (
            "Broaden and deepen the relationship",
            "Engagement is thinning. List every stakeholder with their influence and the date you last spoke, then plan one meaningful touchpoint with each this quarter.",
        ),
        "critical": (
            "Rebuild the relationship from the top",
            "You no longer have reliable access to the people who decide the renewal. Ask your executive to contact theirs, find out who owns the budget today and secure a meeting within 30 days; until then, forecast the renewal as at risk.",
        ),
    },
}


def _best_practices() -> list[BestPractice]:
    categories = {kpi.key: kpi.category for kpi in DEFAULT_KPIS}
    per_kpi = [
        BestPractice(key, categories[key], band, title, advice)
        for key, bands in _KPI_ADVICE.items()
        for band, (title, advice) in bands.items()
    ]
    per_category = [
        BestPractice(None, category, band, title, advice)
        for category, bands in _CATEGORY_ADVICE.items()
        for band, (title, advice) in bands.items()
    ]
    return per_kpi + per_category


BEST_PRACTICES = _best_practices()

# Benchmarks are set on the health scale and converted through each KPI's reference range,
# so an industry's quartiles can never contradict the thresholds. A typical account sits
# just below the healthy line; each industry is shifted per category by how it tends to
# compare (e.g. manufacturing adopts software slowly, education pays late at fiscal year end).
_QUARTILE_SCORES = (50.0, 66.0, 80.0)
_INDUSTRY_SHIFT: dict[str, dict[str, float]] = {
    "Software": {USAGE: 6, SUPPORT: 0, SENTIMENT: 0, FINANCIAL: 4, RELATIONSHIP: 0},
    "Healthcare": {USAGE: -6, SUPPORT: -2, SENTIMENT: 2, FINANCIAL: -2, RELATIONSHIP: 2},
    "Financial Services": {USAGE: 0, SUPPORT: 2, SENTIMENT: -2, FINANCIAL: 4, RELATIONSHIP: 4},
    "Manufacturing": {USAGE: -8, SUPPORT: -2, SENTIMENT: 0, FINANCIAL: -4, RELATIONSHIP: -2},
    "Retail": {USAGE: 2, SUPPORT: -4, SENTIMENT: -4, FINANCIAL: -2, RELATIONSHIP: -4},
    "Education": {USAGE: -4, SUPPORT: 0, SENTIMENT: 4, FINANCIAL: -6, RELATIONSHIP: -2},
}


def _benchmark(industry: str, kpi: CatalogKpi) -> IndustryBenchmark:
    shift = _INDUSTRY_SHIFT[industry][kpi.category]
    p25, median, p75 = sorted(round(kpi.value_at_score(s + shift), 1) for s in _QUARTILE_SCORES)
    return IndustryBenchmark(industry, kpi.key, p25, median, p75)


INDUSTRY_BENCHMARKS = [_benchmark(industry, kpi) for industry in INDUSTRIES for kpi in DEFAULT_KPIS]
