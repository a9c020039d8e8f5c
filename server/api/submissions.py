"""Submissions: receive a survey once, its photos (resumable), outcomes, review, release;
photos by hash for those whose scope covers them."""

from flask import g, request, send_file

from ..schemas.submission import (
    media_state_schema,
    outcome_page_schema,
    outcome_query_schema,
    outcome_schema,
    review_schema,
    submission_schema,
)
from ..services import media, review, sync
from ..services.gates import submission_slot
from . import bp
from .auth_context import client_ip, require_user

SUPERVISORS = ("supervisor", "admin")


@bp.post("/submissions")
@require_user(plain=True)
def create_submission():
    """Receive one survey; a retry of the same instance_id and body returns the same outcome.
    ---
    post:
      tags: [submissions]
      summary: Submit a survey (idempotent on instance_id)
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: SubmissionSchema
      responses:
        201:
          description: received for the first time
          content:
            application/json:
              schema: OutcomeSchema
        200:
          description: an identical retry; the current outcome
          content:
            application/json:
              schema: OutcomeSchema
        403: error
        404: error
        409:
          description: submission.changed (same instance_id, different body)
          content:
            application/json:
              schema: ErrorSchema
        422: error
        503: error
    """
    # The whole of a submission's CPU work (parsing, checking, merging, the answer) in one
    # of this process's merge slots: done outside it, it competed for the interpreter lock
    # with the slot's holder and stretched the holder's time under the database lock.
    with submission_slot():
        data = submission_schema.load(request.get_json(silent=True) or {})
        submission, created = sync.submit(g.caller, data, ip=client_ip())
        body = outcome_schema.dump(sync.outcome(submission))
    return body, 201 if created else 200, {"Location": f"{bp.url_prefix}/submissions/"
                                                       f"{submission.instance_id}"}


@bp.get("/submissions")
@require_user()
def list_submissions():
    """The outcome feed: the caller's own submissions (mine=1) or, for supervisors, in scope.
    ---
    get:
      tags: [submissions]
      summary: Outcomes changed since a cursor
      security: [{bearer: []}]
      parameters:
        - {in: query, name: mine, schema: {type: integer, enum: [0, 1]}}
        - in: query
          name: since
          description: the cursor of the last page (0 or absent the first time)
          schema: {type: integer, minimum: 0, maximum: 2147483647}
        - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 500}}
        - in: query
          name: household_id
          schema: {type: integer, minimum: 1, maximum: 2147483647}
        - in: query
          name: review_state
          schema: {type: string, enum: [received, approved, has_issues, rejected]}
      responses:
        200:
          content:
            application/json:
              schema: OutcomePageSchema
        403: error
        422: error
    """
    query = outcome_query_schema.load(request.args.to_dict())
    page = sync.outcomes(g.user, **query)
    return outcome_page_schema.dump(page)


@bp.get("/submissions/<instance_id>")
@require_user()
def get_submission(instance_id: str):
    """Return one submission's outcome (its sender, or a supervisor in scope).
    ---
    get:
      tags: [submissions]
      summary: One outcome
      security: [{bearer: []}]
      parameters:
        - {in: path, name: instance_id, required: true, schema: {type: string, format: uuid}}
      responses:
        200:
          content:
            application/json:
              schema: OutcomeSchema
        404: error
    """
    return outcome_schema.dump(sync.get_outcome(g.user, instance_id))


@bp.post("/submissions/<instance_id>/review")
@require_user(*SUPERVISORS)
def review_submission(instance_id: str):
    """Move a submission's review state; rejecting reverts its changes no later version
    overwrote.
    ---
    post:
      tags: [review]
      summary: Review a submission
      security: [{bearer: []}]
      parameters:
        - {in: path, name: instance_id, required: true, schema: {type: string, format: uuid}}
      requestBody:
        required: true
        content:
          application/json:
            schema: ReviewSchema
      responses:
        200:
          content:
            application/json:
              schema: OutcomeSchema
        403: error
        404: error
        409:
          description: review.invalid_transition
          content:
            application/json:
              schema: ErrorSchema
    """
    data = review_schema.load(request.get_json(silent=True) or {})
    submission = review.review(g.user, instance_id, data["state"], data["comment"],
                               seen_state=data["seen_state"], ip=client_ip())
    return outcome_schema.dump(sync.outcome(submission))


@bp.post("/submissions/<instance_id>/release")
@require_user(*SUPERVISORS)
def release_submission(instance_id: str):
    """Merge a held chain whose earlier link never arrived, on the phone's original base.
    ---
    post:
      tags: [review]
      summary: Release a held submission
      security: [{bearer: []}]
      parameters:
        - {in: path, name: instance_id, required: true, schema: {type: string, format: uuid}}
      responses:
        200:
          content:
            application/json:
              schema: OutcomeSchema
        403:
          description: not a supervisor; or scope.forbidden (its sender, but the household
            is no longer in the caller's region)
          content:
            application/json:
              schema: ErrorSchema
        404: error
        409:
          description: submission.not_held
          content:
            application/json:
              schema: ErrorSchema
    """
    submission = sync.release(g.user, instance_id, ip=client_ip())
    return outcome_schema.dump(sync.outcome(submission))


def _media_headers(state: dict) -> dict:
    """Return the resumable-upload headers for an upload's state."""
    return {"Upload-Offset": str(state["offset"]), "Upload-Length": str(state["size"]),
            "Cache-Control": "no-store"}


@bp.route("/submissions/<instance_id>/media/<sha256>", methods=["HEAD"])
@require_user()
def media_offset(instance_id: str, sha256: str):
    """Tell how many bytes of a listed photo arrived (resume from Upload-Offset).
    ---
    head:
      tags: [media]
      summary: Upload state (Upload-Offset, Upload-Length headers)
      security: [{bearer: []}]
      parameters:
        - {in: path, name: instance_id, required: true, schema: {type: string, format: uuid}}
        - {in: path, name: sha256, required: true, schema: {type: string}}
      responses:
        200:
          description: Upload-Offset = bytes stored, Upload-Length = listed size
        404:
          description: no such submission, or the photo is not listed
    """
    state = media.upload_state(g.user, instance_id, sha256)
    return "", 200, _media_headers(state)


@bp.put("/submissions/<instance_id>/media/<sha256>")
@require_user()
def upload_media(instance_id: str, sha256: str):
    """Upload a listed photo's bytes, whole or a chunk at a time with Content-Range.
    ---
    put:
      tags: [media]
      summary: Upload (resumable)
      security: [{bearer: []}]
      parameters:
        - {in: path, name: instance_id, required: true, schema: {type: string, format: uuid}}
        - {in: path, name: sha256, required: true, schema: {type: string}}
        - in: header
          name: Content-Range
          schema: {type: string}
          description: "bytes <first>-<last>/<total>; first must not pass Upload-Offset"
      requestBody:
        required: true
        content:
          application/octet-stream: {}
          image/jpeg: {}
      responses:
        201:
          description: the photo is complete, verified and stored
          content:
            application/json:
              schema: MediaStateSchema
        200:
          description: already complete (a retry)
          content:
            application/json:
              schema: MediaStateSchema
        202:
          description: chunk stored; continue from Upload-Offset
          content:
            application/json:
              schema: MediaStateSchema
        400:
          description: media.hash_mismatch, media.empty, media.bad_range
          content:
            application/json:
              schema: ErrorSchema
        404: error
        409:
          description: media.offset_mismatch (Upload-Offset tells where to continue)
          content:
            application/json:
              schema: ErrorSchema
        413: error
        415: error
        422: error
    """
    state, status = media.receive_chunk(
        g.user, instance_id, sha256, request.stream,
        content_length=request.content_length,
        content_range=request.headers.get("Content-Range"), ip=client_ip(),
    )
    return media_state_schema.dump(state), status, _media_headers(state)


@bp.get("/media/<sha256>")
@require_user()
def get_media(sha256: str):
    """Return a photo (thumbnail 320 or 1280 px, or the original) the caller's scope covers.
    ---
    get:
      tags: [media]
      summary: A photo by its SHA-256
      security: [{bearer: []}]
      parameters:
        - {in: path, name: sha256, required: true, schema: {type: string}}
        - {in: query, name: size, schema: {type: string, enum: ["320", "1280", full]}}
      responses:
        200:
          content:
            image/jpeg: {}
        404: error
    """
    size = request.args.get("size", "1280")
    fh, content_type = media.open_media(g.user, sha256, size, ip=client_ip())
    response = send_file(fh, mimetype=content_type, etag=f"{sha256}-{size}",
                         max_age=86400, conditional=True)
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    return response
