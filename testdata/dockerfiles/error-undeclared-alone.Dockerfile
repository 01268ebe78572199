# FROM $UNDECLARED with nothing else: the variable is empty, so is the name.
# expect-error: base name ($UNDECLARED) should not be blank
FROM $UNDECLARED
