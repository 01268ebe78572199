# Instructions and the AS keyword in lower and mixed case.
from alpine:3.19 as base
run echo base
From base As Layer
copy --from=base / /tmp
fRoM busybox:1.36
Copy --from=LAYER / /layer
