"""Case assessment: does this use, at this site, fit "rett virksomhet på rett sted"?

A case officer gives a site (GeoJSON Point or Polygon in any CRS PostGIS knows), a use category,
the floor area and optionally employees and daily visitors. :func:`assess` measures the facts in
PostGIS (municipality, focus areas and overlap shares, nearest hubs and walking times, the site's
ABC location class) and applies the rules of the policy file (:mod:`geoplan.assessment.policy`).
Every rule that applied becomes a *reason* naming the rule id and its citation; every check that
was made but did not apply becomes a *not* (as PlanX lists them), so the officer sees all that was
considered. The verdict is the most severe effect of the reasons.

The result is deterministic: the same input and policy give the same verdict, reasons and facts
(sorted, rounded, no timestamps). Storing a case (:func:`store_assessment`) adds the id and time.

Modules, in the order an assessment uses them: :mod:`~geoplan.assessment.policy` (the policy
file), :mod:`~geoplan.assessment.case` (the input, checked and seen through the policy),
:mod:`~geoplan.assessment.site` (the site geometry), :mod:`~geoplan.assessment.facts` (one
:class:`~geoplan.assessment.facts.Facts` measured in PostGIS), :mod:`~geoplan.assessment.rules`
(:func:`assess`, one function per rule family), :mod:`~geoplan.assessment.result` (the result
dict), :mod:`~geoplan.assessment.records` (stored cases) and :mod:`~geoplan.assessment.report`
(HTML).
"""

from geoplan.assessment.case import AssessmentInput
from geoplan.assessment.records import get_assessment, store_assessment
from geoplan.assessment.result import VERDICT_LABELS
from geoplan.assessment.rules import assess
from geoplan.assessment.site import SITE_TYPES, parse_site, site_to_storage

__all__ = [
    "SITE_TYPES",
    "VERDICT_LABELS",
    "AssessmentInput",
    "assess",
    "get_assessment",
    "parse_site",
    "site_to_storage",
    "store_assessment",
]
