FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY projections projections
COPY api api
COPY infra infra
RUN pip install --no-cache-dir . && useradd --system caseledger
USER caseledger
ENV CASELEDGER_HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["caseledger", "serve"]
