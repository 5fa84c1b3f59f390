"""The GraphQL documents of the sync's PR status search, with what each costs.

:data:`STATUS_QUERY` reads the CI and review state of the contributor's PRs and of those awaiting
their review, with what blocks each, 100 PRs to a request; :data:`MORE_CHECKS_QUERY` the checks
of a PR beyond its first 100. :data:`CHECK_FRAGMENT` is how every query here and in
:mod:`workbench.github.bases` reads a check, :data:`ROLLUP_FRAGMENT` how they read a commit's
checks.
"""

from __future__ import annotations

from workbench.github.model import THREADS_READ

STATUS_PAGE = 100
"""PRs per search page (GitHub's most): 100 of the contributor's PRs in one request."""

CHECK_FRAGMENT = """
fragment check on StatusCheckRollupContext {
  __typename
  ... on CheckRun {
    name
    conclusion
    status
    detailsUrl
    databaseId
    completedAt
    checkSuite { workflowRun { databaseId workflow { name } } }
  }
  ... on StatusContext { context state targetUrl }
}
"""

ROLLUP_FRAGMENT = """
fragment rollup on StatusCheckRollup {
  state
  contexts(first: 100) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { ...check }
  }
}
"""
"""A commit's checks as a PR's head and a merge base are read alike: the rollup's state and its
first 100 checks (each by :data:`CHECK_FRAGMENT`, which goes with it)."""

STATUS_QUERY = (
    """
query PrStatus(
  $mine: String!, $review: String!, $mineAfter: String, $reviewAfter: String,
  $withMine: Boolean!, $withReview: Boolean!
) {
  viewer { login }
  rateLimit { cost remaining resetAt }
  mine: search(query: $mine, type: ISSUE, first: 100, after: $mineAfter) @include(if: $withMine) {
    issueCount
    pageInfo { hasNextPage endCursor }
    nodes { ...prStatus }
  }
  review: search(query: $review, type: ISSUE, first: 100, after: $reviewAfter)
    @include(if: $withReview) {
    issueCount
    pageInfo { hasNextPage endCursor }
    nodes { ...prStatus }
  }
}
fragment prStatus on PullRequest {
  number
  isDraft
  reviewDecision
  mergeable
  updatedAt
  baseRefName
  repository { nameWithOwner }
  labels(first: 50) { nodes { name } }
  commits(last: 1) {
    nodes {
      commit {
        oid
        committedDate
        statusCheckRollup { ...rollup }
      }
    }
  }
  pushes: timelineItems(last: 1, itemTypes: [HEAD_REF_FORCE_PUSHED_EVENT]) {
    nodes { ... on HeadRefForcePushedEvent { createdAt } }
  }
  latestOpinionatedReviews(first: 30) {
    nodes { author { login } state submittedAt url }
  }
  reviewThreads(first: $THREADS) {
    totalCount
    nodes {
      isResolved
      isOutdated
      path
      line
      originalLine
      comments(last: 1) { totalCount nodes { author { login } bodyText createdAt url } }
    }
  }
  comments(last: 30) { nodes { author { login } bodyText createdAt url } }
}
""".replace("$THREADS", str(THREADS_READ))
    + ROLLUP_FRAGMENT
    + CHECK_FRAGMENT
)
"""GitHub charges a request of this query 114 points of the 5,000 an hour (its documented
formula; the review threads of 100 PRs, each with its last comment, are most of it), hence the
refresh only when something changed, a check is pending, or every
:data:`~workbench.github.sync.STATUS_MAX_AGE`."""

MORE_CHECKS_QUERY = (
    """
query MoreChecks($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      commits(last: 1) {
        nodes {
          commit {
            statusCheckRollup {
              contexts(first: 100, after: $after) {
                pageInfo { hasNextPage endCursor }
                nodes { ...check }
              }
            }
          }
        }
      }
    }
  }
}
"""
    + CHECK_FRAGMENT
)
"""The checks of one PR beyond the first 100 (pytorch/pytorch-sized CI): a request per 100 more."""
