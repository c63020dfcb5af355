# slawatch: multi-stage, slim, non-root. Configuration only by SLAWATCH_* variables
# (README "Configuration"). The same commands as the README and the Makefile:
# `pip install .` to build, `slawatch run` to start (it applies the migrations).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY probes ./probes
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
# pango for the PDF statements (WeasyPrint) and a CJK font for their Chinese clauses
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
      fonts-wqy-microhei && rm -rf /var/lib/apt/lists/*
RUN useradd --system --create-home --home-dir /srv/slawatch slawatch
COPY --from=build /install /usr/local
WORKDIR /srv/slawatch
COPY --chown=slawatch sla_rules ./sla_rules
COPY --chown=slawatch probes/modules.yml ./probes/modules.yml
ENV SLAWATCH_HOST=0.0.0.0 \
    SLAWATCH_PORT=8000 \
    SLAWATCH_RULES_DIR=/srv/slawatch/sla_rules \
    SLAWATCH_PROBE_MODULES=/srv/slawatch/probes/modules.yml \
    SLAWATCH_DATABASE_URL=sqlite+aiosqlite:////srv/slawatch/data/slawatch.db
RUN mkdir -p data && chown slawatch data
USER slawatch
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["slawatch", "run"]
