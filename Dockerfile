FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY domain domain
COPY projections projections
COPY api api
COPY infra infra
RUN pip install --no-cache-dir -r requirements.lock && pip install --no-cache-dir --no-deps . \
    && useradd --system caseledger && mkdir /keys && chown caseledger /keys && chmod 700 /keys
USER caseledger
ENV CASELEDGER_HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["caseledger", "serve"]
