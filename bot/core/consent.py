"""The version of the group rules and privacy notice a member agrees to.

Raise CONSENT_VERSION whenever the rules or the privacy notice in the catalogue change in
substance: every member is then asked again before they can go on.
"""

# 2: the privacy notice says what /mydata and /forget do and how long each record is kept.
CONSENT_VERSION = 2
