//! Merging two patient records into one: `POST /api/patients/<id>/merge/`
//! (admin and staff). Its own module because it moves rows that three
//! resources own (patients, mappings, appointments), each through its
//! owner's function, in one transaction: all of it happens, or none.

use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};
use serde::Serialize;

use crate::audit::{self, Action, Entity, Event};
use crate::auth::Caller;
use crate::clinic_time::ClinicZone;
use crate::db::Db;
use crate::error::{ApiError, Code};
use crate::http::JsonBody;
use crate::patients::{self, duplicates, MergeConflict, Patient};
use crate::validation::Fields;
use crate::{appointments, mappings};

pub fn routes() -> Vec<Route> {
    audit::denied::about(Entity::Patient, routes![merge])
}

/// The surviving patient, and what a person still has to decide.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Merged {
    #[serde(flatten)]
    pub patient: Patient,
    /// Fields both records held with different values: the survivor's value
    /// is kept; the other's stays readable in the archived record.
    pub merge_conflicts: Vec<MergeConflict>,
}

fn refused(detail: &str) -> ApiError {
    ApiError::Conflict {
        code: Code::CannotMerge,
        detail: detail.into(),
    }
}

#[utoipa::path(tag = "duplicates", params(("id" = i64, Path, description = "The patient that survives")), request_body = crate::patients::schema::MergeRequest, responses((status = 200, description = "Admin and staff: the surviving patient. The other's mappings and appointments moved to it, its empty fields were filled from the other, the other is archived with `merged_into`, and one audit event (`merge`) names both; `merge_conflicts` lists the fields left for a person to decide", body = Merged), (status = 403, description = "A `user`", body = crate::http::ErrorBody), (status = 409, description = "`cannot_merge`: the same record, or either is archived; `slot_taken`: an appointment of the other overlaps one of this patient's", body = crate::http::ErrorBody)), security(("bearer" = [])))]
#[post("/patients/<id>/merge", data = "<body>")]
async fn merge(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Json<Merged>, ApiError> {
    let today = zone.today();
    if !caller.sees_all_patients() {
        return Err(ApiError::forbidden());
    }
    let mut fields = Fields::new(&body.0);
    let other = fields.integer(&["duplicate"], 1, i64::MAX);
    let other = fields.require(&["duplicate"], other, true);
    fields.finish()?;
    let other = other.ok_or(ApiError::NotFound)?;
    if other == id {
        return Err(refused("A patient cannot be merged with itself."));
    }
    db.write(move |tx| {
        let (survivor, survivor_archived) =
            patients::find_including_archived(tx, &caller, id, today)?.ok_or(ApiError::NotFound)?;
        let (duplicate, duplicate_archived) =
            patients::find_including_archived(tx, &caller, other, today)?
                .ok_or(ApiError::NotFound)?;
        if survivor_archived || duplicate_archived {
            return Err(refused(
                "An archived patient cannot be merged; restore it first.",
            ));
        }
        let (filled, merge_conflicts) = patients::absorb(tx, &survivor, &duplicate)?;
        mappings::move_patient(tx, other, id)?;
        appointments::move_patient(tx, other, id)?;
        patients::archive_merged(tx, other, id)?;
        duplicates::pair_later(tx, id)?;
        let event = Event::new(Action::Merge)
            .on(Entity::Patient, id)
            .related(other)
            .fields(filled);
        audit::record(tx, &caller, event)?;
        let patient = patients::find_visible(tx, &caller, id, today)?.ok_or(ApiError::NotFound)?;
        Ok(Json(Merged {
            patient,
            merge_conflicts,
        }))
    })
    .await
}
