"""The version of the group rules and privacy notice a member agrees to.

Raise CONSENT_VERSION whenever the rules or the privacy notice in the catalogue change in
substance: every member is then asked again before they can go on.
"""

CONSENT_VERSION = 1
